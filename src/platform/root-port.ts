/**
 * The root port's end of selective IDE streams (PCIe 6.x 6.33: Integrity and Data Encryption;
 * IDE_KM 6.33.3), programmed by the TSM through its firmware interface (TDX Connect's
 * TDH.IDE.STREAM.*, the PSP on AMD, the RMM on Arm), never by the host. Each stream has one
 * key slot per key set (K0, K1) x direction (RX, TX) x sub-stream (PR, NPR, CPL), the same
 * slots the TSM programs into the device with KEY_PROG / K_SET_GO / K_SET_STOP.
 *
 * A stream is 'secure' when every slot of its active key set (the one last started) is
 * programmed and started, and 'insecure' otherwise; the RID association (the IDE RID
 * Association registers) says which requester ids travel on which stream. Keys live only in
 * the slots and are wiped by K_SET_STOP; events carry the slot, never the key.
 */
import type { Rid } from './ids.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';
import type { KeySlotRef, ProgrammedKey } from './tsm/ide-km-client.ts';

export interface KeySlot {
  /** AES-GCM-256 key as 8 dwords and IV invocation field as 2, as IDE_KM KEY_PROG carries them. */
  key: number[];
  ifv: number[];
  started: boolean;
}

export interface RootPortStream {
  /** By slotId(ref). */
  slots: Map<string, KeySlot>;
  activeKeySet?: 0 | 1;
  state: 'secure' | 'insecure';
}

export interface RootPortState {
  streams: Map<number, RootPortStream>;
  /** Requester id -> the stream its traffic is associated with. */
  rids: Map<Rid, number>;
}

export type RootPortError = 'EINVAL' | 'EBUSY' | 'ENOKEY' | 'ENOENT';

type RootPortOutcome = Outcome<OpResult<object, RootPortError>>;

const SLOTS_PER_KEY_SET = 6;
const DIRECTIONS = new Set(['RX', 'TX']);
const SUB_STREAMS = new Set(['PR', 'NPR', 'CPL']);

export function createRootPort(): RootPortState {
  return { streams: new Map(), rids: new Map() };
}

export const slotId = (s: KeySlotRef): string => `K${s.keySet}.${s.direction}.${s.subStream}`;

/** The stream's state at the root port ('insecure' for a stream it has never heard of). */
export function rootPortStreamState(rp: RootPortState, streamId: number): 'secure' | 'insecure' {
  return rp.streams.get(streamId)?.state ?? 'insecure';
}

function computeState(s: RootPortStream): 'secure' | 'insecure' {
  if (s.activeKeySet === undefined) return 'insecure';
  let started = 0;
  for (const [id, slot] of s.slots) {
    if (id.startsWith(`K${s.activeKeySet}.`) && slot.started) started++;
  }
  return started === SLOTS_PER_KEY_SET ? 'secure' : 'insecure';
}

function badSlot(streamId: number, ref: KeySlotRef): string | undefined {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 255) return `stream id ${streamId}`;
  if (ref.keySet !== 0 && ref.keySet !== 1) return `key set ${ref.keySet}`;
  if (!DIRECTIONS.has(ref.direction)) return `direction ${ref.direction}`;
  if (!SUB_STREAMS.has(ref.subStream)) return `sub-stream ${ref.subStream}`;
  return undefined;
}

const isDwords = (a: readonly number[], n: number) =>
  a.length === n && a.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff);

/**
 * KEY_PROG at the root port: programs one slot (not started). Refuses a malformed slot or key
 * (EINVAL) and a slot that is started (EBUSY: a key in use is replaced through the other key set).
 */
export function rootPortKeyProg(
  rp: RootPortState,
  streamId: number,
  key: Pick<ProgrammedKey, 'key' | 'ifv'> & KeySlotRef,
): RootPortOutcome {
  const op = 'KEY_PROG';
  const bad = badSlot(streamId, key);
  if (bad) return refuse(op, 'EINVAL', bad);
  if (!isDwords(key.key, 8) || !isDwords(key.ifv, 2)) {
    return refuse(op, 'EINVAL', 'a key is 8 dwords and an IFV 2');
  }
  const id = slotId(key);
  if (rp.streams.get(streamId)?.slots.get(id)?.started) {
    return refuse(op, 'EBUSY', `stream ${streamId} slot ${id} is started`);
  }
  let s = rp.streams.get(streamId);
  if (!s) {
    s = { slots: new Map(), state: 'insecure' };
    rp.streams.set(streamId, s);
  }
  s.slots.set(id, { key: [...key.key], ifv: [...key.ifv], started: false });
  s.state = computeState(s);
  const slot = { keySet: key.keySet, direction: key.direction, subStream: key.subStream };
  return done({}, { kind: 'root-port-ide', op, streamId, slot, state: s.state });
}

/** K_SET_GO at the root port: starts a programmed slot; its key set becomes the active one. */
export function rootPortKeySetGo(
  rp: RootPortState,
  streamId: number,
  ref: KeySlotRef,
): RootPortOutcome {
  const op = 'K_SET_GO';
  const bad = badSlot(streamId, ref);
  if (bad) return refuse(op, 'EINVAL', bad);
  const s = rp.streams.get(streamId);
  const slot = s?.slots.get(slotId(ref));
  if (!s || !slot) return refuse(op, 'ENOKEY', `stream ${streamId} slot ${slotId(ref)} has no key`);
  slot.started = true;
  s.activeKeySet = ref.keySet;
  s.state = computeState(s);
  return done({}, { kind: 'root-port-ide', op, streamId, slot: { ...ref }, state: s.state });
}

/** K_SET_STOP at the root port: the slot's key is wiped; the stream drops out of secure. */
export function rootPortKeySetStop(
  rp: RootPortState,
  streamId: number,
  ref: KeySlotRef,
): RootPortOutcome {
  const op = 'K_SET_STOP';
  const bad = badSlot(streamId, ref);
  if (bad) return refuse(op, 'EINVAL', bad);
  const s = rp.streams.get(streamId);
  if (!s?.slots.has(slotId(ref))) {
    return refuse(op, 'ENOKEY', `stream ${streamId} slot ${slotId(ref)} has no key`);
  }
  s.slots.delete(slotId(ref));
  if (s.slots.size === 0) rp.streams.delete(streamId);
  else s.state = computeState(s);
  const state = s.slots.size === 0 ? 'insecure' : s.state;
  return done({}, { kind: 'root-port-ide', op, streamId, slot: { ...ref }, state });
}

/** Associates requester `rid` with `streamId` (EBUSY: associated with another stream). */
export function rootPortAssociate(rp: RootPortState, rid: Rid, streamId: number): RootPortOutcome {
  const op = 'RID_ASSOCIATE';
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 255) {
    return refuse(op, 'EINVAL', `stream id ${streamId}`);
  }
  const cur = rp.rids.get(rid);
  if (cur !== undefined && cur !== streamId) {
    return refuse(op, 'EBUSY', `requester 0x${rid.toString(16)} is on stream ${cur}`);
  }
  rp.rids.set(rid, streamId);
  return done(
    {},
    { kind: 'root-port-ide', op, streamId, rid, state: rootPortStreamState(rp, streamId) },
  );
}

/** Removes `rid`'s association (ENOENT: it has none). */
export function rootPortDissociate(rp: RootPortState, rid: Rid): RootPortOutcome {
  const op = 'RID_DISSOCIATE';
  const cur = rp.rids.get(rid);
  if (cur === undefined)
    return refuse(op, 'ENOENT', `requester 0x${rid.toString(16)} has no stream`);
  rp.rids.delete(rid);
  return done(
    {},
    { kind: 'root-port-ide', op, streamId: cur, rid, state: rootPortStreamState(rp, cur) },
  );
}
