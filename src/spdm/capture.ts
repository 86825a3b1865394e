/**
 * Offline decoding of a capture: a pcap of LINKTYPE_PCI_DOE (292) or LINKTYPE_MCTP (291)
 * packets (wire/pcap.ts), every packet's SPDM message decoded, secured records (DSP0277)
 * decrypted with a key log (keylog.ts), and IDE_KM / TDISP inside PCI-SIG vendor-defined
 * messages decoded too (wire/describe.ts).
 *
 * A pcap of these link types says nothing of direction. Plain SPDM tells it by its code
 * (requests have bit 7 set); a DOE discovery response follows its request; a secured record
 * is a request when the requester's keys open it. Decryption follows the session the way
 * the peers did, by trying the keys each direction may use next: the current traffic key at
 * the next sequence number; after the handshake keys, the data keys from sequence 0 (the
 * key switch); after data keys, the next KEY_UPDATE generation from sequence 0. A session
 * id may appear in several key log entries (ids are reused across connections and after
 * END_SESSION): the first entry whose keys open the session's record is followed.
 *
 * Nothing here throws on packet content: a packet that does not decode carries its
 * WireError's words. Only a file that is not a pcap of these link types throws.
 */
import {
  type DirectionSecrets,
  deriveTrafficKeys,
  updateDirection,
} from '../crypto/key-schedule.ts';
import { describeSpdm, type MessageDescription } from '../wire/describe.ts';
import {
  decodeDoeDiscoveryRequest,
  decodeDoeDiscoveryResponse,
  decodeDoeObject,
  doeMaxPad,
  PCI_DOE_TYPE_DISCOVERY,
  PCI_DOE_TYPE_SECURED_SPDM,
  PCI_DOE_TYPE_SPDM,
  PCI_DOE_VENDOR_ID_PCISIG,
} from '../wire/doe.ts';
import { isWireError, WireError } from '../wire/errors.ts';
import { decodeIdeKm } from '../wire/idekm/index.ts';
import {
  MCTP_MESSAGE_TYPE_SECURED_MCTP,
  MCTP_MESSAGE_TYPE_SPDM,
  MCTP_TRANSPORT_HEADER_SIZE,
} from '../wire/mctp.ts';
import {
  LINKTYPE_MCTP,
  LINKTYPE_PCI_DOE,
  PCAP_GLOBAL_HEADER_SIZE,
  PCAP_RECORD_HEADER_SIZE,
  type PcapFile,
} from '../wire/pcap.ts';
import { doeSecuredRecordBytes, type SecuredBinding } from '../wire/secured.ts';
import { type Algorithms, algorithmSizes } from '../wire/spdm/algorithms.ts';
import { decodeSpdmPadded } from '../wire/spdm/codec.ts';
import {
  PCI_PROTOCOL_ID_IDE_KM,
  PCI_PROTOCOL_ID_TDISP,
  SPDM_ALGORITHMS,
  SPDM_CAP,
  SPDM_CAPABILITIES,
  SPDM_GET_CAPABILITIES,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../wire/spdm/context.ts';
import type { SpdmMessage } from '../wire/spdm/messages.ts';
import { decodePciSigPayload } from '../wire/spdm/vendor-defined.ts';
import { decodeTdisp } from '../wire/tdisp/index.ts';
import { entrySchedule, type KeylogEntry } from './keylog.ts';
import {
  type HandshakeSession,
  type SessionDirection,
  SessionError,
  unprotectAs,
} from './session.ts';

/** A message's protocol, name and key facts: wire/describe's, or a DOE / MCTP one. */
export interface CapturedDescription extends Omit<MessageDescription, 'protocol'> {
  protocol: MessageDescription['protocol'] | 'DOE' | 'MCTP';
}

/** What happened to a secured record. */
export interface SecuredInfo {
  sessionId: number;
  /** MCTP only: the record's 16-bit sequence number. */
  sequenceNumber?: number;
  /** 'decrypted', or why not: no key log entry for the id, or none of its keys opened it. */
  state: 'decrypted' | 'no-keys' | 'not-opened';
  /** Which keys opened it: handshake, data, or data after n KEY_UPDATEs. */
  keys?: 'handshake' | 'data' | `data+${number}`;
  /** The implicit (DOE) or explicit (MCTP) sequence number it opened at. */
  sequence?: number;
}

/** One packet of the capture, decoded as far as it goes. */
export interface CapturedMessage {
  /** 1-based record number in the file. */
  record: number;
  /** Byte offset of the record's header in the file. */
  offset: number;
  tsSec: number;
  /** Microseconds (nanoseconds in a nanosecond file, see `nanosecond`). */
  tsFrac: number;
  nanosecond: boolean;
  /** Captured bytes of the packet. */
  size: number;
  /** The transport framing, e.g. "DOE SPDM", "DOE secured", "MCTP 0x05 SPDM". */
  transport: string;
  direction?: 'request' | 'response';
  secured?: SecuredInfo;
  /** The innermost SPDM (or application) message bytes, decrypted when secured. */
  message?: Uint8Array;
  /** Protocol, name and key facts of the message (IDE_KM / TDISP inside vendor-defined). */
  description?: CapturedDescription;
  /** The decoded fields (SPDM message; IDE_KM / TDISP as `payload` of vendor-defined ones). */
  fields?: unknown;
  /** Why the packet (or its message) did not decode. */
  error?: string;
}

/** The whole capture decoded. */
export interface DecodedCapture {
  linkType: number;
  binding: SecuredBinding;
  messages: CapturedMessage[];
  /** Key log entries whose session opened at least one record. */
  sessionsUsed: number;
}

interface DirectionState {
  secrets: DirectionSecrets;
  seq: number;
  stage: 'handshake' | 'data';
  generation: number;
}

interface LiveSession {
  entry: KeylogEntry;
  request: DirectionState;
  response: DirectionState;
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Decodes every packet of a parsed pcap with the key log entries given.
 * @throws WireError 'bad-field' when the link type is neither PCI_DOE nor MCTP.
 */
export function decodeCapture(file: PcapFile, keylog: readonly KeylogEntry[] = []): DecodedCapture {
  const linkType = file.header.linkType;
  if (linkType !== LINKTYPE_PCI_DOE && linkType !== LINKTYPE_MCTP) {
    throw new WireError(
      'PCAP',
      'global header',
      'network',
      20,
      'bad-field',
      `link type ${linkType} is neither PCI_DOE (292) nor MCTP (291)`,
    );
  }
  const binding: SecuredBinding = linkType === LINKTYPE_PCI_DOE ? 'pci_doe' : 'mctp';
  const d = new CaptureDecoder(binding, keylog);
  let offset = PCAP_GLOBAL_HEADER_SIZE;
  const messages = file.records.map((r, i) => {
    const m: CapturedMessage = {
      record: i + 1,
      offset,
      tsSec: r.tsSec,
      tsFrac: r.tsFrac,
      nanosecond: file.header.nanosecond === true,
      size: r.data.length,
      transport: '',
    };
    offset += PCAP_RECORD_HEADER_SIZE + r.data.length;
    if (r.origLen !== undefined && r.origLen > r.data.length) {
      m.transport = binding === 'pci_doe' ? 'DOE' : 'MCTP';
      m.error = `packet cut to ${r.data.length} of ${r.origLen} bytes (snap length)`;
      return m;
    }
    try {
      if (binding === 'pci_doe') d.doe(m, r.data);
      else d.mctp(m, r.data);
    } catch (e) {
      if (!isWireError(e)) throw e;
      m.error = e.message;
    }
    return m;
  });
  return { linkType, binding, messages, sessionsUsed: d.used.size };
}

class CaptureDecoder {
  private readonly ctx: SpdmCodecContext = {};
  private request: SpdmMessage | undefined;
  private reqFlags = 0;
  private rspFlags = 0;
  private discoveryPending = false;
  private lastDirection: 'request' | 'response' = 'response';
  private readonly live = new Map<number, LiveSession>();
  readonly used = new Set<KeylogEntry>();

  constructor(
    private readonly binding: SecuredBinding,
    private readonly keylog: readonly KeylogEntry[],
  ) {}

  doe(m: CapturedMessage, data: Uint8Array): void {
    m.transport = 'DOE';
    const obj = decodeDoeObject(data);
    if (obj.vendorId !== PCI_DOE_VENDOR_ID_PCISIG) {
      m.transport = `DOE vendor 0x${obj.vendorId.toString(16).padStart(4, '0')} type ${obj.type}`;
      return;
    }
    switch (obj.type) {
      case PCI_DOE_TYPE_DISCOVERY:
        m.transport = 'DOE discovery';
        this.discovery(m, obj.payload);
        return;
      case PCI_DOE_TYPE_SPDM: {
        m.transport = 'DOE SPDM';
        this.spdm(m, obj.payload, doeMaxPad(obj.payload));
        return;
      }
      case PCI_DOE_TYPE_SECURED_SPDM:
        m.transport = 'DOE secured SPDM';
        this.secured(m, doeSecuredRecordBytes(obj.payload));
        return;
      default:
        m.transport = `DOE type ${obj.type}`;
    }
  }

  mctp(m: CapturedMessage, data: Uint8Array): void {
    m.transport = 'MCTP';
    if (data.length < MCTP_TRANSPORT_HEADER_SIZE + 1) {
      throw new WireError(
        'MCTP',
        'packet',
        data.length < MCTP_TRANSPORT_HEADER_SIZE ? 'transport header' : 'MessageType',
        data.length,
        'truncated',
        `${data.length} byte(s): the 4-byte transport header and a type byte are needed`,
      );
    }
    const type = data[MCTP_TRANSPORT_HEADER_SIZE];
    const body = data.subarray(MCTP_TRANSPORT_HEADER_SIZE + 1);
    if (type === MCTP_MESSAGE_TYPE_SPDM) {
      m.transport = 'MCTP SPDM';
      this.spdm(m, body, 0);
    } else if (type === MCTP_MESSAGE_TYPE_SECURED_MCTP) {
      m.transport = 'MCTP secured SPDM';
      this.secured(m, body);
    } else {
      m.transport = `MCTP type 0x${type.toString(16).padStart(2, '0')}`;
      m.message = body.slice();
    }
  }

  private discovery(m: CapturedMessage, payload: Uint8Array): void {
    const isRequest = !this.discoveryPending;
    this.discoveryPending = isRequest;
    m.direction = isRequest ? 'request' : 'response';
    if (isRequest) {
      const q = decodeDoeDiscoveryRequest(payload);
      m.fields = q;
      m.description = {
        protocol: 'DOE',
        name: 'DISCOVERY request',
        detail: `index ${q.index} version ${q.version}`,
      };
    } else {
      const a = decodeDoeDiscoveryResponse(payload);
      m.fields = a;
      m.description = {
        protocol: 'DOE',
        name: 'DISCOVERY response',
        detail: `vendor 0x${a.vendorId.toString(16).padStart(4, '0')} type ${a.dataObjectType} next ${a.nextIndex}`,
      };
    }
  }

  /** An SPDM message (DOE may pad a plain one with up to `maxPad` zero bytes). */
  private spdm(m: CapturedMessage, bytes: Uint8Array, maxPad: number): void {
    if (bytes.length >= 2) m.direction = bytes[1] & 0x80 ? 'request' : 'response';
    if (m.direction) this.lastDirection = m.direction;
    const isRequest = m.direction === 'request';
    const ctx: SpdmCodecContext = isRequest
      ? { ...this.ctx }
      : { ...this.ctx, request: this.request };
    let exact = bytes;
    try {
      const d = decodeSpdmPadded(bytes, ctx, maxPad);
      exact = d.bytes;
      m.fields = withInner(d.message);
      this.follow(d.message, isRequest);
    } catch (e) {
      if (!isWireError(e)) throw e;
      if (isRequest) this.request = undefined;
    }
    m.message = exact.slice();
    m.description = describeSpdm(exact, ctx);
    if (m.description.malformed) m.error = m.description.malformed;
  }

  /** Connection facts later messages need: the request, sizes, HANDSHAKE_IN_THE_CLEAR. */
  private follow(msg: SpdmMessage, isRequest: boolean): void {
    if (isRequest) this.request = msg;
    const flags = (msg as { flags?: number }).flags ?? 0;
    if (msg.code === SPDM_GET_CAPABILITIES) this.reqFlags = flags;
    if (msg.code === SPDM_CAPABILITIES) this.rspFlags = flags;
    const clear = SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP;
    this.ctx.handshakeInTheClear = (this.reqFlags & clear) !== 0 && (this.rspFlags & clear) !== 0;
    if (msg.code === SPDM_ALGORITHMS) {
      try {
        this.ctx.sizes = algorithmSizes(msg as Algorithms);
      } catch {
        // A selection without known sizes: later messages are named from their header.
      }
    }
  }

  private secured(m: CapturedMessage, record: Uint8Array): void {
    if (record.length < 4) {
      throw new WireError(
        'DSP0277',
        `secured record (${this.binding})`,
        'SessionID',
        0,
        'truncated',
      );
    }
    const sessionId = new DataView(record.buffer, record.byteOffset, 4).getUint32(0, true);
    const info: SecuredInfo = { sessionId, state: 'no-keys' };
    if (this.binding === 'mctp' && record.length >= 6) {
      info.sequenceNumber = record[4] | (record[5] << 8);
    }
    m.secured = info;
    const candidates = this.keylog.filter((e) => e.sessionId === sessionId);
    if (candidates.length === 0) return;
    info.state = 'not-opened';
    // The expected direction first: a response follows a request.
    const order: SessionDirection[] =
      this.lastDirection === 'request' ? ['response', 'request'] : ['request', 'response'];
    const current = this.live.get(sessionId);
    let opened = current && openLive(this.binding, current, order, record);
    if (!opened) {
      for (const entry of candidates) {
        if (entry === current?.entry || this.used.has(entry)) continue;
        const fresh = startSession(entry);
        opened = openLive(this.binding, fresh, order, record);
        if (opened) {
          this.live.set(sessionId, fresh);
          this.used.add(entry);
          break;
        }
      }
    }
    if (!opened) return;
    info.state = 'decrypted';
    info.keys = opened.keys;
    info.sequence = opened.sequence;
    m.direction = opened.direction;
    this.lastDirection = opened.direction;
    if (opened.mctpType !== undefined && opened.mctpType !== MCTP_MESSAGE_TYPE_SPDM) {
      m.message = opened.message;
      m.description = {
        protocol: 'MCTP',
        name: `MCTP type 0x${opened.mctpType.toString(16).padStart(2, '0')} application message`,
        detail: `${opened.message.length} B`,
      };
      return;
    }
    this.spdm(m, opened.message, 0);
    // Inside a session the direction is the key's, whatever the code says.
    m.direction = opened.direction;
    this.lastDirection = opened.direction;
  }
}

/** A key log entry's session at its start: handshake keys at sequence 0. */
function startSession(entry: KeylogEntry): LiveSession {
  const p = entrySchedule(entry);
  const dir = (secret: Uint8Array): DirectionState => ({
    secrets: { secret, ...deriveTrafficKeys(p, secret) },
    seq: 0,
    stage: 'handshake',
    generation: 0,
  });
  return {
    entry,
    request: dir(entry.requestHandshakeSecret),
    response: dir(entry.responseHandshakeSecret),
  };
}

interface Opened {
  direction: SessionDirection;
  message: Uint8Array;
  mctpType?: number;
  keys: NonNullable<SecuredInfo['keys']>;
  sequence: number;
}

/** The keys a direction may use next, in the order to try them. */
function nextKeys(
  s: LiveSession,
  d: DirectionState,
  direction: SessionDirection,
): DirectionState[] {
  const p = entrySchedule(s.entry);
  const out = [d];
  if (d.stage === 'handshake') {
    const secret = direction === 'request' ? s.entry.requestDataSecret : s.entry.responseDataSecret;
    if (secret) {
      out.push({
        secrets: { secret, ...deriveTrafficKeys(p, secret) },
        seq: 0,
        stage: 'data',
        generation: 0,
      });
    }
  } else {
    out.push({
      secrets: updateDirection(p, d.secrets),
      seq: 0,
      stage: 'data',
      generation: d.generation + 1,
    });
  }
  return out;
}

/** Tries the session's next keys on a record; on success the session moves on. */
function openLive(
  binding: SecuredBinding,
  s: LiveSession,
  order: SessionDirection[],
  record: Uint8Array,
): Opened | undefined {
  for (const direction of order) {
    for (const k of nextKeys(s, s[direction], direction)) {
      const got = openWith(binding, s.entry, k, direction, record);
      if (!got) continue;
      s[direction] = { ...k, seq: k.seq + 1 };
      const keys: Opened['keys'] =
        k.stage === 'handshake' ? 'handshake' : k.generation ? `data+${k.generation}` : 'data';
      return { direction, ...got, keys, sequence: k.seq };
    }
  }
  return undefined;
}

/** One attempt through the session code (AAD, nonce, MCTP sequence check, plaintext layout). */
function openWith(
  binding: SecuredBinding,
  entry: KeylogEntry,
  k: DirectionState,
  direction: SessionDirection,
  record: Uint8Array,
): { message: Uint8Array; mctpType?: number } | undefined {
  const keys = { current: k.secrets, seq: k.seq };
  const s: HandshakeSession = {
    id: entry.sessionId,
    kind: entry.kind,
    binding,
    role: direction === 'request' ? 'responder' : 'requester',
    schedule: entrySchedule(entry),
    aead: entry.aead,
    phase: 'handshake',
    traffic: { request: keys, response: keys },
  };
  try {
    const r = unprotectAs(s, direction, record);
    return r.mctpType === undefined
      ? { message: r.message }
      : { message: r.message, mctpType: r.mctpType };
  } catch (e) {
    if (e instanceof SessionError) return undefined;
    throw e;
  }
}

/** The SPDM message with the IDE_KM / TDISP message of a PCI-SIG vendor-defined one. */
function withInner(m: SpdmMessage): unknown {
  if (m.code !== SPDM_VENDOR_DEFINED_REQUEST && m.code !== SPDM_VENDOR_DEFINED_RESPONSE) return m;
  try {
    const p = decodePciSigPayload(m);
    if (p?.protocolId === PCI_PROTOCOL_ID_IDE_KM) {
      return { ...m, payload: { IDE_KM: decodeIdeKm(p.message) } };
    }
    if (p?.protocolId === PCI_PROTOCOL_ID_TDISP) {
      return { ...m, payload: { TDISP: decodeTdisp(p.message) } };
    }
  } catch (e) {
    return { ...m, payload: { error: why(e) } };
  }
  return m;
}
