/**
 * A DSP0277 secured session (DSP0277 1.1 section 6 "Secured Messages"; DSP0274 1.2/1.3
 * "Key schedule" and "KEY_UPDATE"; shared/reference/WIRE.md "Secured record").
 *
 * A session is plain data (`SessionState`, structuredClone-able): its secrets
 * (crypto/key-schedule) and traffic keys as bytes, the sequence counters as numbers, and
 * the phase as a discriminated union on `phase`: 'handshake' after KEY_EXCHANGE_RSP /
 * PSK_EXCHANGE_RSP, 'established' after FINISH_RSP / PSK_FINISH_RSP (the key switch),
 * 'ended' after END_SESSION or a failure, when every secret has been wiped. The functions
 * here take a session and return the next one; like a transition that consumes its input
 * (oxidecomputer/spdm), the session passed in must not be used again once a function
 * returned, because secrets the result no longer holds are wiped. A function that throws
 * leaves its input as it was.
 *
 * Records: `protect` turns an SPDM message into the record bytes of the binding
 * (PCI DOE: no sequence number on the wire, no padding; MCTP: 16-bit sequence number,
 * 1..32 random padding bytes from the random source passed in, app data = 0x05 || SPDM,
 * or another MCTP type for application messages such as PLDM); `unprotect` does the
 * reverse and refuses what it must: an unknown session id, a malformed record, for MCTP a
 * header sequence number that is not the expected one, and any record whose MAC does not
 * verify (for DOE a replayed or reordered record fails here, because the nonce is built
 * from the implicit counter). Counters advance only on success.
 *
 * KEY_UPDATE keeps the old key of a direction as a backup until VerifyNewKey, as libspdm
 * does: a record that fails with the new key but opens with the backup rolls the update
 * back (the peer never saw the KEY_UPDATE_ACK).
 */
import { type AeadAlg, aeadOpen, aeadSeal, sequenceNonce } from '../crypto/aead.ts';
import { isCryptoError } from '../crypto/errors.ts';
import {
  type DataSecrets,
  type DirectionSecrets,
  deriveDataSecrets,
  deriveHandshakeSecrets,
  type HandshakeSecrets,
  type KeyScheduleParams,
  updateDirection,
  wipeSecrets,
} from '../crypto/key-schedule.ts';
import type { RandomSource } from '../crypto/random.ts';
import { isWireError } from '../wire/errors.ts';
import { concat } from '../wire/hex.ts';
import { decodeMctpMessage, MCTP_MESSAGE_TYPE_SPDM } from '../wire/mctp.ts';
import {
  decodeSecuredPlaintext,
  decodeSecuredRecord,
  encodeSecuredPlaintext,
  encodeSecuredRecord,
  makeSecuredRecord,
  SECURED_MAC_SIZE,
  SECURED_MCTP_MAX_RANDOM_PADDING,
  type SecuredBinding,
  type SecuredRecord,
  securedRecordAad,
} from '../wire/secured.ts';
import type { RecordRejectReason, SpdmRole } from './events.ts';

export type SessionKind = 'dhe' | 'psk';
export type SessionPhase = SessionState['phase'];
/** 'request' = requester-to-responder traffic, 'response' = responder-to-requester. */
export type SessionDirection = 'request' | 'response';

/** Why unprotect refused a record; `reason` is what the trace records. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly reason: RecordRejectReason,
    readonly sessionId: number,
    detail = '',
  ) {
    super(`session 0x${sessionId.toString(16)}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

/** The four DSP0277 sequence counters (each from 0, +1 per record). */
export interface SequenceCounters {
  requestHandshake: number;
  responseHandshake: number;
  requestData: number;
  responseData: number;
}

/** One direction's current traffic keys, its counter, and (after KEY_UPDATE) the old ones. */
export interface DirectionKeys {
  current: DirectionSecrets;
  seq: number;
  backup?: { keys: DirectionSecrets; seq: number };
}

/** The traffic keys of both directions in the current phase. */
export interface TrafficKeySet {
  request: DirectionKeys;
  response: DirectionKeys;
}

/** What a session is, fixed when it opens. */
export interface SessionOptions {
  /** The 32-bit session id (ReqSessionID low half, RspSessionID high half). */
  id: number;
  kind: SessionKind;
  binding: SecuredBinding;
  /** Which end this is: the responder seals 'response' and opens 'request' records. */
  role: SpdmRole;
  /** Key schedule parameters (SPDM version, hash, AEAD key size). */
  schedule: KeyScheduleParams;
  aead: AeadAlg;
}

/** Between KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP and the key switch. */
export interface HandshakeSession extends SessionOptions {
  phase: 'handshake';
  /** Handshake secrets (finished keys included), once derived. */
  handshake?: HandshakeSecrets;
  /** Handshake traffic keys: absent until derived (or installed from a keylog). */
  traffic?: TrafficKeySet;
  /** Data secrets derived from TH2, active only after `establishSession`. */
  data?: DataSecrets;
}

/** After the key switch: data keys in force, handshake secrets wiped. */
export interface EstablishedSession extends SessionOptions {
  phase: 'established';
  /** Data secrets; `request` / `response` follow KEY_UPDATE (same keys as `traffic`). */
  data: DataSecrets;
  traffic: TrafficKeySet;
  /** The handshake-phase counters as they ended, for the trace. */
  handshakeSeq: { request: number; response: number };
}

/** After END_SESSION or a failure: no secrets left. */
export interface EndedSession extends SessionOptions {
  phase: 'ended';
}

/** A secured session as plain data. */
export type SessionState = HandshakeSession | EstablishedSession | EndedSession;

export interface ProtectOptions {
  /**
   * MCTP only: the random padding to use (default 1..32 bytes from the random source);
   * tests pass a capture's padding to reproduce its record.
   */
  padding?: Uint8Array;
  /** MCTP only: the inner message type (default 0x05 SPDM; e.g. 0x01 PLDM app messages). */
  mctpType?: number;
}

/** What `protect` returns. */
export interface ProtectResult {
  record: Uint8Array;
  session: SessionState;
}

/** What `unprotect` returns. */
export interface UnprotectResult {
  /** The SPDM message; over MCTP, the body of the inner message of type `mctpType`. */
  message: Uint8Array;
  /** MCTP only: the inner message type (0x05 SPDM; anything else is an app message). */
  mctpType?: number;
  /** Set when a pending KEY_UPDATE was rolled back because the peer used the old key. */
  rolledBack?: SessionDirection;
  /** The session with the counter advanced (and any rollback applied). */
  session: SessionState;
}

/** A libspdm-compatible upper bound: counters never reach 2^64 - 1 in a model run. */
const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** The session id of a record, without decrypting it (for dispatch). */
export function recordSessionId(record: Uint8Array): number | undefined {
  // The id is the first u32 in both bindings.
  if (record.length < 4) return undefined;
  return (record[0] | (record[1] << 8) | (record[2] << 16) | (record[3] << 24)) >>> 0;
}

const hex = (id: number) => `0x${id.toString(16)}`;

/** A new session in its handshake phase, without keys yet. */
export function openSession(o: SessionOptions): HandshakeSession {
  return {
    id: o.id >>> 0,
    kind: o.kind,
    binding: o.binding,
    role: o.role,
    schedule: o.schedule,
    aead: o.aead,
    phase: 'handshake',
  };
}

/**
 * Derives the handshake secrets from the DHE shared secret (or the PSK) and TH1; from
 * now on records use the handshake keys (`result.handshake` holds the secrets).
 * @throws RangeError when called twice or after the handshake.
 */
export function deriveHandshakeKeys(
  s: SessionState,
  sharedSecret: Uint8Array,
  th1Hash: Uint8Array,
): HandshakeSession & { handshake: HandshakeSecrets } {
  if (s.phase !== 'handshake' || s.handshake) {
    throw new RangeError(`session ${hex(s.id)}: handshake keys already derived`);
  }
  const hs = deriveHandshakeSecrets(s.schedule, sharedSecret, th1Hash);
  return {
    ...s,
    handshake: hs,
    traffic: {
      request: { current: hs.request, seq: 0 },
      response: { current: hs.response, seq: 0 },
    },
  };
}

/**
 * Derives the data secrets from TH2 (after FINISH / PSK_FINISH verified). They become
 * active with `establishSession`, which the responder applies after sealing FINISH_RSP
 * with the handshake key and the requester after opening it.
 * @throws RangeError without handshake secrets.
 */
export function deriveDataKeys(
  s: SessionState,
  th2Hash: Uint8Array,
): HandshakeSession & { data: DataSecrets } {
  if (s.phase !== 'handshake' || !s.handshake) {
    throw new RangeError(`session ${hex(s.id)}: no handshake to derive data keys`);
  }
  return { ...s, data: deriveDataSecrets(s.schedule, s.handshake.handshakeSecret, th2Hash) };
}

/** The key switch: data keys active, handshake secrets wiped. @throws RangeError without data keys. */
export function establishSession(s: SessionState): EstablishedSession {
  if (s.phase !== 'handshake' || !s.data) {
    throw new RangeError(`session ${hex(s.id)}: no data keys to switch to`);
  }
  if (s.handshake) wipeSecrets(s.handshake);
  return {
    ...optionsOf(s),
    phase: 'established',
    data: s.data,
    traffic: {
      request: { current: s.data.request, seq: 0 },
      response: { current: s.data.response, seq: 0 },
    },
    handshakeSeq: {
      request: s.traffic?.request.seq ?? 0,
      response: s.traffic?.response.seq ?? 0,
    },
  };
}

/**
 * Keylog replay: use traffic keys learned elsewhere (a libspdm Debug log, a keylog
 * file) instead of deriving them. Handshake keys start the handshake phase; data keys
 * establish the session. Secrets without `finishedKey` cannot check VerifyData, and
 * without `secret` cannot KEY_UPDATE.
 * @throws RangeError in the wrong phase.
 */
export function installKeys(
  s: SessionState,
  phase: 'handshake' | 'data',
  request: DirectionSecrets,
  response: DirectionSecrets,
): SessionState {
  if (s.phase !== 'handshake' || (phase === 'handshake' && s.traffic)) {
    throw new RangeError(`session ${hex(s.id)}: cannot install ${phase} keys now`);
  }
  if (phase === 'handshake') {
    return {
      ...s,
      traffic: { request: { current: request, seq: 0 }, response: { current: response, seq: 0 } },
    };
  }
  const data = {
    masterSecret: new Uint8Array(),
    exportMasterSecret: new Uint8Array(),
    request,
    response,
  };
  return establishSession({ ...s, data });
}

/** The four counters as they stand. */
export function sessionSequence(s: SessionState): SequenceCounters {
  if (s.phase === 'established') {
    return {
      requestHandshake: s.handshakeSeq.request,
      responseHandshake: s.handshakeSeq.response,
      requestData: s.traffic.request.seq,
      responseData: s.traffic.response.seq,
    };
  }
  const t = s.phase === 'handshake' ? s.traffic : undefined;
  return {
    requestHandshake: t?.request.seq ?? 0,
    responseHandshake: t?.response.seq ?? 0,
    requestData: 0,
    responseData: 0,
  };
}

/** The traffic keys of a direction in the current phase (for keylogs and tests). */
export function trafficKeys(
  s: SessionState,
  direction: SessionDirection,
): DirectionSecrets | undefined {
  return s.phase === 'ended' ? undefined : s.traffic?.[direction].current;
}

/** True while a KEY_UPDATE of `direction` waits for VerifyNewKey. */
export function hasPendingUpdate(s: SessionState, direction: SessionDirection): boolean {
  return s.phase === 'established' && s.traffic[direction].backup !== undefined;
}

/** The end that seals: the requester sends 'request' records, the responder 'response'. */
function ownDirection(s: SessionState): SessionDirection {
  return s.role === 'requester' ? 'request' : 'response';
}

function peerDirection(s: SessionState): SessionDirection {
  return s.role === 'requester' ? 'response' : 'request';
}

function optionsOf(s: SessionState): SessionOptions {
  return {
    id: s.id,
    kind: s.kind,
    binding: s.binding,
    role: s.role,
    schedule: s.schedule,
    aead: s.aead,
  };
}

/** `s` with one direction's keys replaced (and the data secrets following them). */
function withDirection(
  s: HandshakeSession | EstablishedSession,
  direction: SessionDirection,
  k: DirectionKeys,
): SessionState {
  const traffic = { ...(s.traffic as TrafficKeySet), [direction]: k };
  if (s.phase === 'handshake') return { ...s, traffic };
  return { ...s, traffic, data: { ...s.data, [direction]: k.current } };
}

function keysOf(s: SessionState, direction: SessionDirection): DirectionKeys | undefined {
  return s.phase === 'ended' ? undefined : s.traffic?.[direction];
}

/**
 * Seals one SPDM message (or, over MCTP, an application message of another MCTP type)
 * as this end's next record.
 * @param random MCTP padding source (unused for PCI DOE, or when `options.padding` is given)
 * @throws RangeError when the session has no keys for this direction (ended, or before
 *   the handshake keys), or when the counter would overflow.
 */
export function protect(
  s: SessionState,
  message: Uint8Array,
  random: RandomSource,
  options: ProtectOptions = {},
): ProtectResult {
  return protectAs(s, ownDirection(s), message, random, options);
}

/** `protect` for an explicit direction (known-answer tests replay both directions). */
export function protectAs(
  s: SessionState,
  direction: SessionDirection,
  message: Uint8Array,
  random: RandomSource,
  options: ProtectOptions = {},
): ProtectResult {
  const k = keysOf(s, direction);
  if (!k || s.phase === 'ended') throw new RangeError(`session ${hex(s.id)}: no ${direction} keys`);
  if (k.seq >= MAX_SEQUENCE) throw new RangeError('session: sequence number overflow');
  const mctp = s.binding === 'mctp';
  const pad = mctp ? (options.padding ?? randomPadding(random)) : new Uint8Array();
  const type = options.mctpType ?? MCTP_MESSAGE_TYPE_SPDM;
  const appData = mctp ? concat(Uint8Array.of(type), message) : message.slice();
  const plaintext = encodeSecuredPlaintext(s.binding, { appData, padding: pad });
  const rec = makeSecuredRecord(
    s.id,
    new Uint8Array(plaintext.length),
    new Uint8Array(SECURED_MAC_SIZE),
    mctp ? k.seq & 0xffff : undefined,
  );
  const aad = securedRecordAad(s.binding, rec);
  const sealed = aeadSeal(
    s.aead,
    k.current.key,
    sequenceNonce(k.current.iv, k.seq),
    aad,
    plaintext,
  );
  rec.ciphertext = sealed.subarray(0, plaintext.length);
  rec.mac = sealed.subarray(plaintext.length);
  return {
    record: encodeSecuredRecord(s.binding, rec),
    session: withDirection(s, direction, { ...k, seq: k.seq + 1 }),
  };
}

/**
 * Opens the peer's next record and returns the SPDM message inside.
 * @throws SessionError: 'unknown-session' (another session's id), 'not-ready' (no keys),
 *   'malformed' (record or plaintext layout), 'sequence' (MCTP header sequence number not
 *   the expected one), 'decrypt-failed' (MAC mismatch: tamper, replay, reorder).
 */
export function unprotect(s: SessionState, record: Uint8Array): UnprotectResult {
  return unprotectAs(s, peerDirection(s), record);
}

/** `unprotect` for an explicit direction. @throws SessionError as `unprotect`. */
export function unprotectAs(
  s: SessionState,
  direction: SessionDirection,
  record: Uint8Array,
): UnprotectResult {
  let rec: SecuredRecord;
  try {
    rec = decodeSecuredRecord(s.binding, record);
  } catch (e) {
    if (isWireError(e)) throw new SessionError('malformed', s.id, e.message);
    throw e;
  }
  if (rec.sessionId !== s.id) throw new SessionError('unknown-session', rec.sessionId);
  const k = keysOf(s, direction);
  if (!k || s.phase === 'ended') throw new SessionError('not-ready', s.id, `no ${direction} keys`);
  const first = tryOpen(s, rec, k.current, k.seq);
  if (first.ok) {
    const app = appOf(s, first.plaintext);
    return { ...app, session: withDirection(s, direction, { ...k, seq: k.seq + 1 }) };
  }
  // A KEY_UPDATE the peer never saw acknowledged: it still uses the old key.
  if (k.backup) {
    const second = tryOpen(s, rec, k.backup.keys, k.backup.seq);
    if (second.ok) {
      const app = appOf(s, second.plaintext);
      wipeSecrets(k.current);
      const session = withDirection(s, direction, {
        current: k.backup.keys,
        seq: k.backup.seq + 1,
      });
      return { ...app, rolledBack: direction, session };
    }
  }
  throw new SessionError(first.reason, s.id);
}

function tryOpen(
  s: SessionState,
  rec: SecuredRecord,
  keys: DirectionSecrets,
  seq: number,
): { ok: true; plaintext: Uint8Array } | { ok: false; reason: RecordRejectReason } {
  if (s.binding === 'mctp' && rec.sequenceNumber !== (seq & 0xffff)) {
    return { ok: false, reason: 'sequence' };
  }
  const sealed = new Uint8Array(rec.ciphertext.length + rec.mac.length);
  sealed.set(rec.ciphertext, 0);
  sealed.set(rec.mac, rec.ciphertext.length);
  try {
    const plaintext = aeadOpen(
      s.aead,
      keys.key,
      sequenceNonce(keys.iv, seq),
      securedRecordAad(s.binding, rec),
      sealed,
    );
    return { ok: true, plaintext };
  } catch (e) {
    if (isCryptoError(e)) return { ok: false, reason: 'decrypt-failed' };
    throw e;
  }
}

function appOf(s: SessionState, plaintext: Uint8Array): { message: Uint8Array; mctpType?: number } {
  try {
    const p = decodeSecuredPlaintext(s.binding, plaintext);
    if (s.binding !== 'mctp') return { message: p.appData };
    const m = decodeMctpMessage(p.appData);
    return { message: m.body, mctpType: m.type };
  } catch (e) {
    if (isWireError(e)) throw new SessionError('malformed', s.id, e.message);
    throw e;
  } finally {
    plaintext.fill(0);
  }
}

function randomPadding(random: RandomSource): Uint8Array {
  const n = 1 + (random(1)[0] % SECURED_MCTP_MAX_RANDOM_PADDING);
  return random(n);
}

/**
 * KEY_UPDATE: the next data secret of `direction` becomes current; the old one stays as
 * a backup until `commitKeyUpdate` (VerifyNewKey) or is dropped at once when
 * `keepBackup` is false (the responder's own direction in UpdateAllKeys).
 * @throws RangeError outside the established phase.
 */
export function updateKey(
  s: SessionState,
  direction: SessionDirection,
  keepBackup = true,
): EstablishedSession {
  if (s.phase !== 'established') {
    throw new RangeError(`session ${hex(s.id)}: KEY_UPDATE needs data keys`);
  }
  const k = s.traffic[direction];
  if (k.backup) wipeSecrets(k.backup.keys);
  const next = updateDirection(s.schedule, k.current);
  if (!keepBackup) wipeSecrets(k.current);
  const backup = keepBackup ? { keys: k.current, seq: k.seq } : undefined;
  return withDirection(s, direction, {
    current: next,
    seq: 0,
    ...(backup ? { backup } : {}),
  }) as EstablishedSession;
}

/** VerifyNewKey: forget the backup of `direction` (nothing happens without one). */
export function commitKeyUpdate(s: SessionState, direction: SessionDirection): SessionState {
  if (s.phase !== 'established' || !s.traffic[direction].backup) return s;
  const k = s.traffic[direction];
  if (k.backup) wipeSecrets(k.backup.keys);
  return withDirection(s, direction, { current: k.current, seq: k.seq });
}

/** Undo a pending update of `direction`: the old key is current again (nothing happens without one). */
export function rollbackKeyUpdate(s: SessionState, direction: SessionDirection): SessionState {
  if (s.phase !== 'established') return s;
  const k = s.traffic[direction];
  if (!k.backup) return s;
  wipeSecrets(k.current);
  return withDirection(s, direction, { current: k.backup.keys, seq: k.backup.seq });
}

/** END_SESSION or failure: wipe every secret; the session accepts nothing more. */
export function closeSession(s: SessionState): EndedSession {
  if (s.phase !== 'ended') {
    if (s.phase === 'handshake' && s.handshake) wipeSecrets(s.handshake);
    if (s.data) wipeSecrets(s.data);
    for (const d of s.traffic ? [s.traffic.request, s.traffic.response] : []) {
      wipeSecrets(d.current);
      if (d.backup) wipeSecrets(d.backup.keys);
    }
  }
  return { ...optionsOf(s), phase: 'ended' };
}
