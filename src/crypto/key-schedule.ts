/**
 * The SPDM session key schedule (DSP0274 1.1-1.3 section "Key schedule"), as libspdm's
 * libspdm_generate_session_handshake_key / _data_key / libspdm_create_update_session_data_key
 * compute it:
 *
 *   bin_str(label, context, L) = u16 LE L || "spdm1.X " || label || context
 *   HS   = HKDF-Extract(0^H, DHE secret or PSK)
 *   {req,rsp} handshake secret = Expand(HS, bin_str("{req,rsp} hs data", TH1), H)
 *   salt1 = Expand(HS, bin_str("derived"), H);  MS = HKDF-Extract(salt1, 0^H)
 *   {req,rsp} data secret = Expand(MS, bin_str("{req,rsp} app data", TH2), H)
 *   export master secret  = Expand(MS, bin_str("exp master", TH2), H)
 *   finished_key = Expand(handshake secret, bin_str("finished"), H)
 *   key = Expand(secret, bin_str("key"), keylen);  iv = Expand(secret, bin_str("iv"), 12)
 *   KEY_UPDATE: secret' = Expand(secret, bin_str("traffic upd"), H)
 *
 * Every function is pure: inputs in, fresh buffers out. Callers wipe() what they no longer need.
 */
import { AEAD_IV_SIZE } from './aead.ts';
import { wipe } from './errors.ts';
import { type HashAlg, hashSize } from './hash.ts';
import { hkdfExpand, hkdfExtract, hmac } from './kdf.ts';
import type { AlgorithmSuite } from './suite.ts';

export const KEY_SCHEDULE_LABEL = {
  DERIVED: 'derived',
  REQ_HS_DATA: 'req hs data',
  RSP_HS_DATA: 'rsp hs data',
  REQ_APP_DATA: 'req app data',
  RSP_APP_DATA: 'rsp app data',
  EXP_MASTER: 'exp master',
  FINISHED: 'finished',
  KEY: 'key',
  IV: 'iv',
  TRAFFIC_UPD: 'traffic upd',
} as const;

export interface KeyScheduleParams {
  /** SPDMVersion byte of the connection: 0x11 or later (sessions start in 1.1). */
  version: number;
  hash: HashAlg;
  /** AEAD key length (16 or 32). */
  aeadKeySize: number;
}

/**
 * Schedule parameters from a negotiated suite.
 * @throws RangeError when the suite has no AEAD.
 */
export function scheduleParams(suite: AlgorithmSuite, version: number): KeyScheduleParams {
  if (!suite.aead) throw new RangeError('key schedule: suite has no AEAD selected');
  return { version, hash: suite.hash, aeadKeySize: suite.sizes.aeadKeySize };
}

/** "spdm1.X " — the version label of bin_str. */
export function versionLabel(version: number): string {
  if (!Number.isInteger(version) || version < 0x11 || version > 0x19 || version >> 4 !== 1) {
    throw new RangeError(`key schedule: SPDM version 0x${version.toString(16)} has no sessions`);
  }
  return `spdm1.${version & 0xf} `;
}

/** bin_str(label, context, length) of the key schedule. */
export function binStr(
  version: number,
  length: number,
  label: string,
  context: Uint8Array = new Uint8Array(),
): Uint8Array {
  const text = Buffer.from(versionLabel(version) + label, 'ascii');
  const out = new Uint8Array(2 + text.length + context.length);
  out[0] = length & 0xff;
  out[1] = length >> 8;
  out.set(text, 2);
  out.set(context, 2 + text.length);
  return out;
}

function expand(
  p: KeyScheduleParams,
  secret: Uint8Array,
  label: string,
  length: number,
  ctx?: Uint8Array,
) {
  return hkdfExpand(p.hash, secret, binStr(p.version, length, label, ctx), length);
}

export interface TrafficKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

export interface DirectionSecrets extends TrafficKeys {
  secret: Uint8Array;
}

export interface HandshakeDirection extends DirectionSecrets {
  finishedKey: Uint8Array;
}

export interface HandshakeSecrets {
  handshakeSecret: Uint8Array;
  request: HandshakeDirection;
  response: HandshakeDirection;
}

export interface DataSecrets {
  masterSecret: Uint8Array;
  exportMasterSecret: Uint8Array;
  request: DirectionSecrets;
  response: DirectionSecrets;
}

/** AEAD key and IV of one direction's secret. */
export function deriveTrafficKeys(p: KeyScheduleParams, secret: Uint8Array): TrafficKeys {
  return {
    key: expand(p, secret, KEY_SCHEDULE_LABEL.KEY, p.aeadKeySize),
    iv: expand(p, secret, KEY_SCHEDULE_LABEL.IV, AEAD_IV_SIZE),
  };
}

/** finished_key of a handshake secret. */
export function deriveFinishedKey(p: KeyScheduleParams, handshakeSecret: Uint8Array): Uint8Array {
  return expand(p, handshakeSecret, KEY_SCHEDULE_LABEL.FINISHED, hashSize(p.hash));
}

/** VerifyData = HMAC(finished_key, transcript hash) (KEY_EXCHANGE_RSP, FINISH, PSK_*). */
export function verifyData(
  p: KeyScheduleParams,
  finishedKey: Uint8Array,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hmac(p.hash, finishedKey, transcriptHash);
}

/**
 * Handshake secrets after KEY_EXCHANGE_RSP (or PSK_EXCHANGE_RSP).
 * @param sharedSecret the DHE shared secret (X coordinate) or the PSK
 * @param th1Hash Hash(TH1)
 */
export function deriveHandshakeSecrets(
  p: KeyScheduleParams,
  sharedSecret: Uint8Array,
  th1Hash: Uint8Array,
): HandshakeSecrets {
  const h = hashSize(p.hash);
  const handshakeSecret = hkdfExtract(p.hash, new Uint8Array(h), sharedSecret);
  const side = (label: string): HandshakeDirection => {
    const secret = expand(p, handshakeSecret, label, h, th1Hash);
    return { secret, finishedKey: deriveFinishedKey(p, secret), ...deriveTrafficKeys(p, secret) };
  };
  return {
    handshakeSecret,
    request: side(KEY_SCHEDULE_LABEL.REQ_HS_DATA),
    response: side(KEY_SCHEDULE_LABEL.RSP_HS_DATA),
  };
}

/**
 * Data (application) secrets after FINISH_RSP (or PSK_FINISH_RSP).
 * @param handshakeSecret HS from deriveHandshakeSecrets
 * @param th2Hash Hash(TH2)
 */
export function deriveDataSecrets(
  p: KeyScheduleParams,
  handshakeSecret: Uint8Array,
  th2Hash: Uint8Array,
): DataSecrets {
  const h = hashSize(p.hash);
  const salt1 = expand(p, handshakeSecret, KEY_SCHEDULE_LABEL.DERIVED, h);
  const masterSecret = hkdfExtract(p.hash, salt1, new Uint8Array(h));
  wipe(salt1);
  const side = (label: string): DirectionSecrets => {
    const secret = expand(p, masterSecret, label, h, th2Hash);
    return { secret, ...deriveTrafficKeys(p, secret) };
  };
  return {
    masterSecret,
    exportMasterSecret: expand(p, masterSecret, KEY_SCHEDULE_LABEL.EXP_MASTER, h, th2Hash),
    request: side(KEY_SCHEDULE_LABEL.REQ_APP_DATA),
    response: side(KEY_SCHEDULE_LABEL.RSP_APP_DATA),
  };
}

/** KEY_UPDATE: the next data secret of one direction. */
export function updateTrafficSecret(p: KeyScheduleParams, secret: Uint8Array): Uint8Array {
  return expand(p, secret, KEY_SCHEDULE_LABEL.TRAFFIC_UPD, hashSize(p.hash));
}

/** KEY_UPDATE: next secret of one direction with its key and IV. */
export function updateDirection(p: KeyScheduleParams, current: DirectionSecrets): DirectionSecrets {
  const secret = updateTrafficSecret(p, current.secret);
  return { secret, ...deriveTrafficKeys(p, secret) };
}

/** Zeroes every Uint8Array found in a secrets object (handshake, data or direction). */
export function wipeSecrets(obj: object): void {
  for (const v of Object.values(obj)) {
    if (v instanceof Uint8Array) v.fill(0);
    else if (v && typeof v === 'object') wipeSecrets(v);
  }
}
