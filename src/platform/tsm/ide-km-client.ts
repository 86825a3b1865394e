/**
 * The TSM's IDE_KM requester (PCIe 6.x section 6.33.3, IDE Key Management): QUERY, KEY_PROG
 * for every sub-stream (PR, NPR, CPL) x direction (RX, TX) of a stream with fresh random
 * keys and IFVs, K_SET_GO and K_SET_STOP, over an SPDM secured session. Every response is
 * checked against its request (object id, stream, sub-stream, port) and every KP_ACK Status
 * must be Success.
 *
 * Two orders are selectable: the KEY_PROG key dword order on the wire ('spdm-emu' or
 * 'spdm-rs', wire/idekm), and the sequence of a stream setup: 'interleaved' (KEY_PROG then
 * K_SET_GO per sub-stream, as spdm-emu's requester does) or 'program-then-go' (all six
 * KEY_PROGs, then all six K_SET_GOs).
 */
import { defaultRandom, type RandomSource } from '../../crypto/random.ts';
import {
  IDE_SUB_STREAM,
  ideKmObjectName,
  PCI_IDE_KM_KP_ACK_STATUS_SUCCESS,
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
  PCI_IDE_KM_OBJECT_ID_QUERY,
  PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
  PCI_PROTOCOL_ID_IDE_KM,
} from '../../wire/idekm/constants.ts';
import {
  decodeIdeKm,
  encodeIdeKm,
  type IdeKmMessage,
  type IdeKmQueryResp,
  type KeyOrder,
  type KeySubStream,
} from '../../wire/idekm/messages.ts';
import { decodeResponse, IdeKmAckError, TsmProtocolError } from './errors.ts';
import { type SecuredChannel, sendPciSig } from './pci-sig.ts';

export type SubStreamName = keyof typeof IDE_SUB_STREAM;

/** One key slot of a stream: sub-stream, direction and key set. */
export interface KeySlotRef {
  subStream: SubStreamName;
  direction: 'RX' | 'TX';
  keySet: 0 | 1;
}

/** A key the TSM programmed (the TSM keeps it for the host side of the link). */
export interface ProgrammedKey extends KeySlotRef {
  /** AES-GCM-256 key as 8 dwords (spdm-emu's key buffer order). */
  key: number[];
  /** IV invocation field as 2 dwords. */
  ifv: number[];
}

export type SetupSequence = 'interleaved' | 'program-then-go';

export interface IdeKmClientOptions {
  /** KEY_PROG key dword order on the wire (default 'spdm-emu'). */
  keyOrder?: KeyOrder;
  /** Stream setup sequence (default 'interleaved'). */
  sequence?: SetupSequence;
  /** Source of keys and IFVs (default: the operating system's RNG). */
  random?: RandomSource;
  /** IDE_KM PortIndex (default 0). */
  portIndex?: number;
}

/** The six slots of a key set, in spdm-emu's order: RX PR, NPR, CPL, then TX PR, NPR, CPL. */
export function streamSlots(keySet: 0 | 1 = 0): KeySlotRef[] {
  const out: KeySlotRef[] = [];
  for (const direction of ['RX', 'TX'] as const) {
    for (const subStream of ['PR', 'NPR', 'CPL'] as const)
      out.push({ subStream, direction, keySet });
  }
  return out;
}

export function slotLabel(s: KeySlotRef): string {
  return `${s.subStream}.${s.direction} K${s.keySet}`;
}

function keySubStream(s: KeySlotRef): KeySubStream {
  return { keySet: s.keySet, direction: s.direction, subStream: IDE_SUB_STREAM[s.subStream] };
}

function dwords(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let o = 0; o + 4 <= bytes.length; o += 4) out.push(dv.getUint32(o, true));
  return out;
}

export class IdeKmClient {
  private readonly keyOrder: KeyOrder;
  private readonly sequence: SetupSequence;
  private readonly random: RandomSource;
  readonly portIndex: number;

  /** @throws RangeError when portIndex is not a byte. */
  constructor(
    private readonly channel: SecuredChannel,
    opts: IdeKmClientOptions = {},
  ) {
    this.keyOrder = opts.keyOrder ?? 'spdm-emu';
    this.sequence = opts.sequence ?? 'interleaved';
    this.random = opts.random ?? defaultRandom;
    this.portIndex = opts.portIndex ?? 0;
    if (!Number.isInteger(this.portIndex) || this.portIndex < 0 || this.portIndex > 0xff) {
      throw new RangeError(`portIndex ${this.portIndex}`);
    }
  }

  /** Sends one IDE_KM object and decodes the answer, which must be object `expect`. */
  private async send<T extends IdeKmMessage['objectId']>(
    m: IdeKmMessage,
    expect: T,
  ): Promise<Extract<IdeKmMessage, { objectId: T }>> {
    const name = ideKmObjectName(m.objectId);
    const bytes = await sendPciSig(
      this.channel,
      PCI_PROTOCOL_ID_IDE_KM,
      encodeIdeKm(m, { keyOrder: this.keyOrder }),
      name,
    );
    const rsp = decodeResponse('IDE_KM', name, () =>
      decodeIdeKm(bytes, { keyOrder: this.keyOrder }),
    );
    if (rsp.objectId !== expect) {
      throw new TsmProtocolError(
        'IDE_KM',
        name,
        `answered with ${ideKmObjectName(rsp.objectId)}, expected ${ideKmObjectName(expect)}`,
      );
    }
    return rsp as Extract<IdeKmMessage, { objectId: T }>;
  }

  /** Checks that an ack names the stream, slot and port of its request. */
  private echo(
    name: string,
    rsp: { streamId: number; keySubStream: KeySubStream; portIndex: number },
    streamId: number,
    slot: KeySlotRef,
  ): void {
    const k = rsp.keySubStream;
    const want = keySubStream(slot);
    if (
      rsp.streamId !== streamId ||
      rsp.portIndex !== this.portIndex ||
      k.keySet !== want.keySet ||
      k.direction !== want.direction ||
      k.subStream !== want.subStream
    ) {
      throw new TsmProtocolError(
        'IDE_KM',
        name,
        `ack is for stream ${rsp.streamId} port ${rsp.portIndex} sub-stream ${k.subStream} ${k.direction} K${k.keySet}, sent stream ${streamId} port ${this.portIndex} ${slotLabel(slot)}`,
      );
    }
  }

  /**
   * QUERY: the port's IDE register block.
   * @throws TsmProtocolError when the answer is not QUERY_RESP for the port.
   */
  async query(portIndex = this.portIndex): Promise<IdeKmQueryResp> {
    const rsp = await this.send(
      { objectId: PCI_IDE_KM_OBJECT_ID_QUERY, portIndex },
      PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
    );
    if (rsp.portIndex !== portIndex) {
      throw new TsmProtocolError('IDE_KM', 'QUERY', `QUERY_RESP for port ${rsp.portIndex}`);
    }
    return rsp;
  }

  /**
   * KEY_PROG of one slot; a fresh random key and IFV unless given.
   * @throws IdeKmAckError on a KP_ACK Status other than Success; TsmProtocolError.
   */
  async keyProg(
    streamId: number,
    slot: KeySlotRef,
    material: { key?: number[]; ifv?: number[] } = {},
  ): Promise<ProgrammedKey> {
    const key = material.key ?? dwords(this.random(32));
    const ifv = material.ifv ?? dwords(this.random(8));
    const rsp = await this.send(
      {
        objectId: PCI_IDE_KM_OBJECT_ID_KEY_PROG,
        streamId,
        keySubStream: keySubStream(slot),
        portIndex: this.portIndex,
        key,
        ifv,
      },
      PCI_IDE_KM_OBJECT_ID_KP_ACK,
    );
    this.echo('KEY_PROG', rsp, streamId, slot);
    if (rsp.status !== PCI_IDE_KM_KP_ACK_STATUS_SUCCESS) {
      throw new IdeKmAckError(streamId, slotLabel(slot), rsp.status);
    }
    return { ...slot, key, ifv };
  }

  /** K_SET_GO of one slot. @throws TsmProtocolError when the ack does not echo it. */
  async kSetGo(streamId: number, slot: KeySlotRef): Promise<void> {
    await this.goStop(PCI_IDE_KM_OBJECT_ID_K_SET_GO, 'K_SET_GO', streamId, slot);
  }

  /** K_SET_STOP of one slot. @throws TsmProtocolError when the ack does not echo it. */
  async kSetStop(streamId: number, slot: KeySlotRef): Promise<void> {
    await this.goStop(PCI_IDE_KM_OBJECT_ID_K_SET_STOP, 'K_SET_STOP', streamId, slot);
  }

  private async goStop(
    objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_GO | typeof PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
    name: string,
    streamId: number,
    slot: KeySlotRef,
  ): Promise<void> {
    const rsp = await this.send(
      { objectId, streamId, keySubStream: keySubStream(slot), portIndex: this.portIndex },
      PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
    );
    this.echo(name, rsp, streamId, slot);
  }

  /**
   * Programs fresh keys into all six slots of `keySet` and starts them, in the configured
   * sequence. Returns the keys (the host side of the link needs them).
   * @throws IdeKmAckError, TsmProtocolError, and the SPDM / transport errors.
   */
  async setupStream(streamId: number, keySet: 0 | 1 = 0): Promise<ProgrammedKey[]> {
    const keys: ProgrammedKey[] = [];
    if (this.sequence === 'interleaved') {
      for (const slot of streamSlots(keySet)) {
        keys.push(await this.keyProg(streamId, slot));
        await this.kSetGo(streamId, slot);
      }
      return keys;
    }
    for (const slot of streamSlots(keySet)) keys.push(await this.keyProg(streamId, slot));
    for (const slot of streamSlots(keySet)) await this.kSetGo(streamId, slot);
    return keys;
  }

  /** K_SET_STOP on all six slots of `keySet`. @throws as kSetStop. */
  async stopStream(streamId: number, keySet: 0 | 1 = 0): Promise<void> {
    for (const slot of streamSlots(keySet)) await this.kSetStop(streamId, slot);
  }
}
