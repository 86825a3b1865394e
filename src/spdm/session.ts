/**
 * A DSP0277 secured session (DSP0277 1.1 section 6 "Secured Messages"; DSP0274 1.2/1.3
 * "Key schedule" and "KEY_UPDATE"; shared/reference/WIRE.md "Secured record").
 *
 * One session holds its secrets (crypto/key-schedule), the four sequence counters
 * (requester->responder and responder->requester, each for handshake and data keys) and
 * the phase: 'handshake' after KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP, 'established' after
 * FINISH_RSP / PSK_FINISH_RSP (the key switch), 'ended' after END_SESSION or a failure,
 * when every secret has been wiped.
 *
 * Records: `protect` turns an SPDM message into the record bytes of the binding
 * (PCI DOE: no sequence number on the wire, no padding; MCTP: 16-bit sequence number,
 * 1..32 random padding bytes, app data = 0x05 || SPDM, or another MCTP type for
 * application messages such as PLDM); `unprotect` does the reverse and
 * refuses what it must: an unknown session id, a malformed record, for MCTP a header
 * sequence number that is not the expected one, and any record whose MAC does not verify
 * (for DOE a replayed or reordered record fails here, because the nonce is built from the
 * implicit counter). Counters advance only on success.
 *
 * KEY_UPDATE keeps the old key of a direction as a backup until VerifyNewKey, as libspdm
 * does: a record that fails with the new key but opens with the backup rolls the update
 * back (the peer never saw the KEY_UPDATE_ACK).
 */
import { type AeadAlg, aeadOpen, aeadSeal, sequenceNonce } from '../crypto/aead.ts';
import { isCryptoError, wipe } from '../crypto/errors.ts';
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
export type SessionPhase = 'handshake' | 'established' | 'ended';
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
interface DirectionKeys {
  current: DirectionSecrets;
  seq: number;
  backup?: { keys: DirectionSecrets; seq: number };
}

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
  /** Random padding for MCTP records. */
  random: RandomSource;
}

export interface ProtectOptions {
  /**
   * MCTP only: the random padding to use (default 1..32 bytes from the session's random
   * source); tests pass a capture's padding to reproduce its record.
   */
  padding?: Uint8Array;
  /** MCTP only: the inner message type (default 0x05 SPDM; e.g. 0x01 PLDM app messages). */
  mctpType?: number;
}

/** What `unprotect` returns. */
export interface UnprotectResult {
  /** The SPDM message; over MCTP, the body of the inner message of type `mctpType`. */
  message: Uint8Array;
  /** MCTP only: the inner message type (0x05 SPDM; anything else is an app message). */
  mctpType?: number;
  /** Set when a pending KEY_UPDATE was rolled back because the peer used the old key. */
  rolledBack?: SessionDirection;
}

/** A libspdm-compatible upper bound: counters never reach 2^64 - 1 in a model run. */
const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** The session id of a record, without decrypting it (for dispatch). */
export function recordSessionId(record: Uint8Array): number | undefined {
  // The id is the first u32 in both bindings.
  if (record.length < 4) return undefined;
  return (record[0] | (record[1] << 8) | (record[2] << 16) | (record[3] << 24)) >>> 0;
}

export class SecuredSession {
  readonly id: number;
  readonly kind: SessionKind;
  readonly binding: SecuredBinding;
  readonly role: SpdmRole;
  readonly schedule: KeyScheduleParams;
  readonly aead: AeadAlg;
  phase: SessionPhase = 'handshake';
  /** Handshake secrets (finished keys included); wiped once the data keys are active. */
  handshake: HandshakeSecrets | undefined;
  /** Data secrets after FINISH; `request` / `response` here are replaced by KEY_UPDATE. */
  data: DataSecrets | undefined;
  private readonly random: RandomSource;
  private hs: { request: DirectionKeys; response: DirectionKeys } | undefined;
  private app: { request: DirectionKeys; response: DirectionKeys } | undefined;
  /** Handshake-phase counters, kept after the switch for the trace. */
  private hsSeqDone = { request: 0, response: 0 };

  constructor(o: SessionOptions) {
    this.id = o.id >>> 0;
    this.kind = o.kind;
    this.binding = o.binding;
    this.role = o.role;
    this.schedule = o.schedule;
    this.aead = o.aead;
    this.random = o.random;
  }

  /**
   * Derives the handshake secrets from the DHE shared secret (or the PSK) and TH1; from
   * now on records use the handshake keys.
   * @throws RangeError when called twice or after the session ended.
   */
  deriveHandshakeKeys(sharedSecret: Uint8Array, th1Hash: Uint8Array): HandshakeSecrets {
    if (this.phase !== 'handshake' || this.handshake) {
      throw new RangeError(`session 0x${this.id.toString(16)}: handshake keys already derived`);
    }
    const hs = deriveHandshakeSecrets(this.schedule, sharedSecret, th1Hash);
    this.handshake = hs;
    this.hs = {
      request: { current: hs.request, seq: 0 },
      response: { current: hs.response, seq: 0 },
    };
    return hs;
  }

  /**
   * Derives the data secrets from TH2 (after FINISH / PSK_FINISH verified). They become
   * active with `establish()`, which the responder calls after sealing FINISH_RSP with the
   * handshake key and the requester after opening it.
   * @throws RangeError without handshake secrets.
   */
  deriveDataKeys(th2Hash: Uint8Array): DataSecrets {
    if (!this.handshake || this.phase !== 'handshake') {
      throw new RangeError(`session 0x${this.id.toString(16)}: no handshake to derive data keys`);
    }
    const d = deriveDataSecrets(this.schedule, this.handshake.handshakeSecret, th2Hash);
    this.data = d;
    return d;
  }

  /** The key switch: data keys active, handshake secrets wiped. @throws RangeError without data keys. */
  establish(): void {
    if (!this.data || this.phase !== 'handshake') {
      throw new RangeError(`session 0x${this.id.toString(16)}: no data keys to switch to`);
    }
    this.hsSeqDone = { request: this.hs?.request.seq ?? 0, response: this.hs?.response.seq ?? 0 };
    this.app = {
      request: { current: this.data.request, seq: 0 },
      response: { current: this.data.response, seq: 0 },
    };
    if (this.handshake) wipeSecrets(this.handshake);
    this.handshake = undefined;
    this.hs = undefined;
    this.phase = 'established';
  }

  /**
   * Keylog replay: use traffic keys learned elsewhere (a libspdm Debug log, a keylog
   * file) instead of deriving them. Handshake keys start the handshake phase; data keys
   * establish the session. Secrets without `finishedKey` cannot check VerifyData, and
   * without `secret` cannot KEY_UPDATE.
   * @throws RangeError in the wrong phase.
   */
  installKeys(
    phase: 'handshake' | 'data',
    request: DirectionSecrets,
    response: DirectionSecrets,
  ): void {
    if (this.phase !== 'handshake' || (phase === 'handshake' && this.hs)) {
      throw new RangeError(`session 0x${this.id.toString(16)}: cannot install ${phase} keys now`);
    }
    if (phase === 'handshake') {
      this.hs = { request: { current: request, seq: 0 }, response: { current: response, seq: 0 } };
      return;
    }
    this.data = {
      masterSecret: new Uint8Array(),
      exportMasterSecret: new Uint8Array(),
      request,
      response,
    };
    this.establish();
  }

  /** The four counters as they stand. */
  get sequence(): SequenceCounters {
    return {
      requestHandshake: this.hs?.request.seq ?? this.hsSeqDone.request,
      responseHandshake: this.hs?.response.seq ?? this.hsSeqDone.response,
      requestData: this.app?.request.seq ?? 0,
      responseData: this.app?.response.seq ?? 0,
    };
  }

  /** The traffic keys of a direction in the current phase (for keylogs and tests). */
  trafficKeys(direction: SessionDirection): DirectionSecrets | undefined {
    return this.keys(direction)?.current;
  }

  /** True while a KEY_UPDATE of `direction` waits for VerifyNewKey. */
  hasPendingUpdate(direction: SessionDirection): boolean {
    return this.app?.[direction].backup !== undefined;
  }

  private keys(direction: SessionDirection): DirectionKeys | undefined {
    if (this.phase === 'ended') return undefined;
    return (this.phase === 'established' ? this.app : this.hs)?.[direction];
  }

  private ownDirection(): SessionDirection {
    return this.role === 'requester' ? 'request' : 'response';
  }

  private peerDirection(): SessionDirection {
    return this.role === 'requester' ? 'response' : 'request';
  }

  /**
   * Seals one SPDM message (or, over MCTP, an application message of another MCTP type)
   * as this end's next record.
   * @throws RangeError when the session has no keys for this direction (ended, or before
   *   the handshake keys), or when the counter would overflow.
   */
  protect(message: Uint8Array, options: ProtectOptions = {}): Uint8Array {
    return this.protectAs(this.ownDirection(), message, options);
  }

  /** `protect` for an explicit direction (known-answer tests replay both directions). */
  protectAs(
    direction: SessionDirection,
    message: Uint8Array,
    options: ProtectOptions = {},
  ): Uint8Array {
    const k = this.keys(direction);
    if (!k) throw new RangeError(`session 0x${this.id.toString(16)}: no ${direction} keys`);
    if (k.seq >= MAX_SEQUENCE) throw new RangeError('session: sequence number overflow');
    const mctp = this.binding === 'mctp';
    const pad = mctp ? (options.padding ?? this.randomPadding()) : new Uint8Array();
    const type = options.mctpType ?? MCTP_MESSAGE_TYPE_SPDM;
    const appData = mctp ? concat(Uint8Array.of(type), message) : message.slice();
    const plaintext = encodeSecuredPlaintext(this.binding, { appData, padding: pad });
    const rec = makeSecuredRecord(
      this.id,
      new Uint8Array(plaintext.length),
      new Uint8Array(SECURED_MAC_SIZE),
      this.binding === 'mctp' ? k.seq & 0xffff : undefined,
    );
    const aad = securedRecordAad(this.binding, rec);
    const sealed = aeadSeal(
      this.aead,
      k.current.key,
      sequenceNonce(k.current.iv, k.seq),
      aad,
      plaintext,
    );
    rec.ciphertext = sealed.subarray(0, plaintext.length);
    rec.mac = sealed.subarray(plaintext.length);
    k.seq++;
    return encodeSecuredRecord(this.binding, rec);
  }

  /**
   * Opens the peer's next record and returns the SPDM message inside.
   * @throws SessionError: 'unknown-session' (another session's id), 'not-ready' (no keys),
   *   'malformed' (record or plaintext layout), 'sequence' (MCTP header sequence number not
   *   the expected one), 'decrypt-failed' (MAC mismatch: tamper, replay, reorder).
   */
  unprotect(record: Uint8Array): UnprotectResult {
    return this.unprotectAs(this.peerDirection(), record);
  }

  /** `unprotect` for an explicit direction. @throws SessionError as `unprotect`. */
  unprotectAs(direction: SessionDirection, record: Uint8Array): UnprotectResult {
    let rec: SecuredRecord;
    try {
      rec = decodeSecuredRecord(this.binding, record);
    } catch (e) {
      if (isWireError(e)) throw new SessionError('malformed', this.id, e.message);
      throw e;
    }
    if (rec.sessionId !== this.id) throw new SessionError('unknown-session', rec.sessionId);
    const k = this.keys(direction);
    if (!k) throw new SessionError('not-ready', this.id, `no ${direction} keys`);
    const first = this.tryOpen(rec, k.current, k.seq);
    if (first.ok) {
      k.seq++;
      return this.appOf(first.plaintext);
    }
    // A KEY_UPDATE the peer never saw acknowledged: it still uses the old key.
    if (k.backup) {
      const second = this.tryOpen(rec, k.backup.keys, k.backup.seq);
      if (second.ok) {
        wipeSecrets(k.current);
        k.current = k.backup.keys;
        k.seq = k.backup.seq + 1;
        k.backup = undefined;
        if (this.data) this.data[direction] = k.current;
        return { ...this.appOf(second.plaintext), rolledBack: direction };
      }
    }
    throw new SessionError(first.reason, this.id);
  }

  private tryOpen(
    rec: SecuredRecord,
    keys: DirectionSecrets,
    seq: number,
  ): { ok: true; plaintext: Uint8Array } | { ok: false; reason: RecordRejectReason } {
    if (this.binding === 'mctp' && rec.sequenceNumber !== (seq & 0xffff)) {
      return { ok: false, reason: 'sequence' };
    }
    const sealed = new Uint8Array(rec.ciphertext.length + rec.mac.length);
    sealed.set(rec.ciphertext, 0);
    sealed.set(rec.mac, rec.ciphertext.length);
    try {
      const plaintext = aeadOpen(
        this.aead,
        keys.key,
        sequenceNonce(keys.iv, seq),
        securedRecordAad(this.binding, rec),
        sealed,
      );
      return { ok: true, plaintext };
    } catch (e) {
      if (isCryptoError(e)) return { ok: false, reason: 'decrypt-failed' };
      throw e;
    }
  }

  private appOf(plaintext: Uint8Array): { message: Uint8Array; mctpType?: number } {
    try {
      const p = decodeSecuredPlaintext(this.binding, plaintext);
      if (this.binding !== 'mctp') return { message: p.appData };
      const m = decodeMctpMessage(p.appData);
      return { message: m.body, mctpType: m.type };
    } catch (e) {
      if (isWireError(e)) throw new SessionError('malformed', this.id, e.message);
      throw e;
    } finally {
      plaintext.fill(0);
    }
  }

  private randomPadding(): Uint8Array {
    const n = 1 + (this.random(1)[0] % SECURED_MCTP_MAX_RANDOM_PADDING);
    return this.random(n);
  }

  /**
   * KEY_UPDATE: the next data secret of `direction` becomes current; the old one stays as
   * a backup until `commitKeyUpdate` (VerifyNewKey) or is dropped at once when
   * `keepBackup` is false (the responder's own direction in UpdateAllKeys).
   * @throws RangeError outside the established phase.
   */
  updateKey(direction: SessionDirection, keepBackup = true): void {
    if (this.phase !== 'established' || !this.app) {
      throw new RangeError(`session 0x${this.id.toString(16)}: KEY_UPDATE needs data keys`);
    }
    const k = this.app[direction];
    if (k.backup) {
      wipeSecrets(k.backup.keys);
      k.backup = undefined;
    }
    const next = updateDirection(this.schedule, k.current);
    if (keepBackup) k.backup = { keys: k.current, seq: k.seq };
    else wipeSecrets(k.current);
    k.current = next;
    k.seq = 0;
    if (this.data) this.data[direction] = next;
  }

  /** VerifyNewKey: forget the backup of `direction`. Returns whether one was pending. */
  commitKeyUpdate(direction: SessionDirection): boolean {
    const k = this.app?.[direction];
    if (!k?.backup) return false;
    wipeSecrets(k.backup.keys);
    k.backup = undefined;
    return true;
  }

  /** Undo a pending update of `direction` (the old key becomes current again). */
  rollbackKeyUpdate(direction: SessionDirection): boolean {
    const k = this.app?.[direction];
    if (!k?.backup) return false;
    wipeSecrets(k.current);
    k.current = k.backup.keys;
    k.seq = k.backup.seq;
    k.backup = undefined;
    if (this.data) this.data[direction] = k.current;
    return true;
  }

  /** END_SESSION or failure: wipe every secret; the session accepts nothing more. */
  end(): void {
    if (this.handshake) wipeSecrets(this.handshake);
    if (this.data) wipeSecrets(this.data);
    for (const set of [this.hs, this.app]) {
      if (!set) continue;
      for (const d of [set.request, set.response]) {
        wipeSecrets(d.current);
        if (d.backup) wipeSecrets(d.backup.keys);
      }
    }
    this.handshake = undefined;
    this.data = undefined;
    this.hs = undefined;
    this.app = undefined;
    this.phase = 'ended';
  }
}

/** Wipes a shared secret once the handshake keys exist (re-exported for the engines). */
export function wipeSharedSecret(secret: Uint8Array): void {
  wipe(secret);
}
