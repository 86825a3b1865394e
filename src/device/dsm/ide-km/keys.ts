/**
 * IDE key slots of the DSM, PCIe 6.x section 6.33.3 (IDE_KM): per stream, per sub-stream
 * (PR, NPR, CPL), per direction (RX, TX), two key sets (K0, K1), of which K_SET_GO makes one
 * the active set. Each slot records the SPDM session that programmed it and the active set
 * the session that started it, because LOCK_INTERFACE_REQUEST and BIND_P2P_STREAM_REQUEST
 * need every key of the stream from their own session (PCIe 11.3.8, 11.4.5).
 */
import { IDE_SUB_STREAM } from '../../../wire/idekm/constants.ts';
import { type SessionRef, sameSession } from '../tdi.ts';

export type SubStreamName = keyof typeof IDE_SUB_STREAM;
export type Direction = 'RX' | 'TX';
export type SlotName = `${SubStreamName}.${Direction}`;

/** Every (sub-stream, direction) pair a Secure stream needs keys for. */
export const SLOT_NAMES: readonly SlotName[] = [
  'PR.RX',
  'PR.TX',
  'NPR.RX',
  'NPR.TX',
  'CPL.RX',
  'CPL.TX',
];

export interface KeySlot {
  /** AES-GCM-256 key dwords as the codec decodes them (key order already applied). */
  key: number[];
  ifv: number[];
  /** Undefined only when programmed outside a secured session ('spdm-emu' behaviour). */
  programmedBy?: SessionRef;
}

export interface SubStreamKeys {
  k0?: KeySlot;
  k1?: KeySlot;
  /** The key set K_SET_GO started, and on which session. */
  active?: { keySet: 0 | 1; startedBy?: SessionRef };
}

export interface StreamKeys {
  portIndex: number;
  /** The session that programmed the stream's first key: refreshes must come on it (11.4.5). */
  owner?: SessionRef;
  slots: Partial<Record<SlotName, SubStreamKeys>>;
  /** All six sub-stream/direction slots have a started key: the stream is Secure. */
  secure: boolean;
}

export interface IdeKmState {
  streams: Record<number, StreamKeys>;
}

/** The slot name of a decoded sub-stream number and direction; undefined for reserved sub-streams. */
export function slotName(subStream: number, direction: Direction): SlotName | undefined {
  const sub = (Object.keys(IDE_SUB_STREAM) as SubStreamName[]).find(
    (k) => IDE_SUB_STREAM[k] === subStream,
  );
  return sub === undefined ? undefined : `${sub}.${direction}`;
}

export function keySetSlot(k: SubStreamKeys, keySet: 0 | 1): KeySlot | undefined {
  return keySet === 0 ? k.k0 : k.k1;
}

/** Every slot has an active, programmed key set: what makes a stream Secure. */
export function allStarted(s: StreamKeys): boolean {
  return SLOT_NAMES.every((n) => {
    const k = s.slots[n];
    return k?.active !== undefined && keySetSlot(k, k.active.keySet) !== undefined;
  });
}

/**
 * Every sub-stream key of the stream is programmed and started on `session` and the stream
 * is Secure: the IDE precondition of LOCK_INTERFACE_REQUEST and BIND_P2P_STREAM_REQUEST.
 */
export function streamKeyedOn(
  st: IdeKmState,
  streamId: number,
  session: SessionRef | undefined,
): boolean {
  const s = st.streams[streamId];
  if (!s?.secure) return false;
  return SLOT_NAMES.every((n) => {
    const k = s.slots[n];
    if (!k?.active) return false;
    const slot = keySetSlot(k, k.active.keySet);
    return (
      slot !== undefined &&
      sameSession(slot.programmedBy, session) &&
      sameSession(k.active.startedBy, session)
    );
  });
}

/** The state with one stream's keys erased (stream Insecure, no owner). */
export function withoutStream(st: IdeKmState, streamId: number): IdeKmState {
  const streams = { ...st.streams };
  delete streams[streamId];
  return { streams };
}

export function withStream(st: IdeKmState, streamId: number, s: StreamKeys): IdeKmState {
  return { streams: { ...st.streams, [streamId]: s } };
}
