/**
 * Session key log: the secrets of each DSP0277 session (DSP0274 1.2/1.3 "Key schedule") as
 * one line of text, so that a capture of its secured records can be decrypted offline
 * (docs/captures.md). Exporting secrets is an explicit opt-in: an engine hands them over
 * only when its configuration has `onSessionSecrets`, and never to the trace.
 *
 * Line format (one session per line, fields separated by one space, hex in lower case):
 *
 *   SPDM_SESSION_KEYS <session id, 8 hex digits> version=1.2 hash=sha384 aead=aes-256-gcm
 *     kind=dhe th1=<hex> req_hs=<hex> rsp_hs=<hex> [th2=<hex> req_data=<hex> rsp_data=<hex>]
 *     [dhe=<hex>]
 *
 * The layout borrows the conventions of the NSS key log format (SSLKEYLOGFILE): plain
 * text, a leading label, `#` comments and blank lines ignored, append-only. There is no
 * established key log convention for SPDM, and NSS's three-field lines cannot hold a
 * session, so the fields are named; a reader ignores names it does not know. The secrets
 * are the traffic secrets of the key schedule (not AEAD keys): key and IV follow from them
 * with bin_str("key"/"iv"), and every KEY_UPDATE from bin_str("traffic upd"). `dhe` is the
 * DHE shared secret, what DMTF's dump tool takes as --dhe_secret; a PSK session logs no PSK.
 */
import { AEAD_KEY_SIZE, type AeadAlg } from '../crypto/aead.ts';
import { type HashAlg, hashSize } from '../crypto/hash.ts';
import type { KeyScheduleParams } from '../crypto/key-schedule.ts';
import { fromHex, toHex } from '../wire/hex.ts';
import type { SecuredBinding } from '../wire/secured.ts';
import type { SessionKind } from './session.ts';

export const KEYLOG_LABEL = 'SPDM_SESSION_KEYS';

/** What an engine hands over when a session's secrets are derived (copies: keep them). */
export type SessionSecrets =
  | {
      phase: 'handshake';
      sessionId: number;
      kind: SessionKind;
      binding: SecuredBinding;
      schedule: KeyScheduleParams;
      aead: AeadAlg;
      th1: Uint8Array;
      requestSecret: Uint8Array;
      responseSecret: Uint8Array;
      /** The DHE shared secret (absent for PSK sessions). */
      dheSecret?: Uint8Array;
    }
  | {
      phase: 'data';
      sessionId: number;
      th2: Uint8Array;
      requestSecret: Uint8Array;
      responseSecret: Uint8Array;
    };

export type SessionSecretsSink = (s: SessionSecrets) => void;

/** One session of a key log. */
export interface KeylogEntry {
  sessionId: number;
  /** SPDMVersion byte (0x11..0x14). */
  version: number;
  hash: HashAlg;
  aead: AeadAlg;
  kind: SessionKind;
  th1: Uint8Array;
  requestHandshakeSecret: Uint8Array;
  responseHandshakeSecret: Uint8Array;
  th2?: Uint8Array;
  requestDataSecret?: Uint8Array;
  responseDataSecret?: Uint8Array;
  dheSecret?: Uint8Array;
}

const HASHES: readonly HashAlg[] = [
  'sha256',
  'sha384',
  'sha512',
  'sha3-256',
  'sha3-384',
  'sha3-512',
];
const AEADS = Object.keys(AEAD_KEY_SIZE) as AeadAlg[];

/** A key log line that does not parse: names the line and what is wrong. */
export class KeylogError extends Error {
  override readonly name = 'KeylogError';
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`keylog line ${line}: ${detail}`);
  }
}

/** The key schedule parameters of an entry. */
export function entrySchedule(e: KeylogEntry): KeyScheduleParams {
  return { version: e.version, hash: e.hash, aeadKeySize: AEAD_KEY_SIZE[e.aead] };
}

/** One entry as its line (no newline). */
export function formatKeylogLine(e: KeylogEntry): string {
  const f: string[] = [
    KEYLOG_LABEL,
    (e.sessionId >>> 0).toString(16).padStart(8, '0'),
    `version=${e.version >> 4}.${e.version & 0xf}`,
    `hash=${e.hash}`,
    `aead=${e.aead}`,
    `kind=${e.kind}`,
    `th1=${toHex(e.th1)}`,
    `req_hs=${toHex(e.requestHandshakeSecret)}`,
    `rsp_hs=${toHex(e.responseHandshakeSecret)}`,
  ];
  if (e.th2 && e.requestDataSecret && e.responseDataSecret) {
    f.push(
      `th2=${toHex(e.th2)}`,
      `req_data=${toHex(e.requestDataSecret)}`,
      `rsp_data=${toHex(e.responseDataSecret)}`,
    );
  }
  if (e.dheSecret) f.push(`dhe=${toHex(e.dheSecret)}`);
  return f.join(' ');
}

/**
 * Every entry of a key log text, in order (one session id may appear more than once: ids
 * are reused across connections and after END_SESSION). Lines of other labels are skipped,
 * as NSS key log readers skip labels they do not know.
 * @throws KeylogError for a malformed SPDM_SESSION_KEYS line.
 */
export function parseKeylog(text: string): KeylogEntry[] {
  const out: KeylogEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts[0] !== KEYLOG_LABEL) return;
    const n = i + 1;
    if (!/^[0-9a-fA-F]{8}$/.test(parts[1] ?? '')) {
      throw new KeylogError(n, `session id "${parts[1] ?? ''}" is not 8 hex digits`);
    }
    const fields = new Map<string, string>();
    for (const p of parts.slice(2)) {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new KeylogError(n, `"${p}" is not name=value`);
      fields.set(p.slice(0, eq), p.slice(eq + 1));
    }
    const need = (k: string) => {
      const v = fields.get(k);
      if (v === undefined) throw new KeylogError(n, `no ${k}=`);
      return v;
    };
    const bytes = (k: string, size?: number) => {
      const v = need(k);
      if (!/^([0-9a-fA-F]{2})+$/.test(v)) throw new KeylogError(n, `${k}= is not hex bytes`);
      const b = fromHex(v);
      if (size !== undefined && b.length !== size) {
        throw new KeylogError(n, `${k}= is ${b.length} bytes, the hash needs ${size}`);
      }
      return b;
    };
    const vm = /^1\.([1-9])$/.exec(need('version'));
    if (!vm) throw new KeylogError(n, `version=${fields.get('version')} is not 1.1..1.9`);
    const hash = need('hash') as HashAlg;
    if (!HASHES.includes(hash)) throw new KeylogError(n, `hash=${hash} is not one of ${HASHES}`);
    const aead = need('aead') as AeadAlg;
    if (!AEADS.includes(aead)) throw new KeylogError(n, `aead=${aead} is not one of ${AEADS}`);
    const kind = need('kind');
    if (kind !== 'dhe' && kind !== 'psk') throw new KeylogError(n, `kind=${kind} is not dhe|psk`);
    const h = hashSize(hash);
    const e: KeylogEntry = {
      sessionId: Number.parseInt(parts[1], 16) >>> 0,
      version: 0x10 | Number(vm[1]),
      hash,
      aead,
      kind,
      th1: bytes('th1', h),
      requestHandshakeSecret: bytes('req_hs', h),
      responseHandshakeSecret: bytes('rsp_hs', h),
    };
    if (fields.has('th2') || fields.has('req_data') || fields.has('rsp_data')) {
      e.th2 = bytes('th2', h);
      e.requestDataSecret = bytes('req_data', h);
      e.responseDataSecret = bytes('rsp_data', h);
    }
    if (fields.has('dhe')) e.dheSecret = bytes('dhe');
    out.push(e);
  });
  return out;
}

/**
 * Collects the secrets engines hand over and writes one line per session: as soon as its
 * data secrets are known, or at `flush` for a session that never got past its handshake
 * (its handshake records still decrypt). `sink` receives whole lines with a newline.
 */
export class KeylogCollector {
  private readonly pending = new Map<number, KeylogEntry>();

  constructor(private readonly sink: (line: string) => void) {}

  /** The engines' `onSessionSecrets`. */
  readonly onSecrets: SessionSecretsSink = (s) => {
    if (s.phase === 'handshake') {
      const old = this.pending.get(s.sessionId);
      if (old) this.write(old);
      this.pending.set(s.sessionId, {
        sessionId: s.sessionId,
        version: s.schedule.version,
        hash: s.schedule.hash,
        aead: s.aead,
        kind: s.kind,
        th1: s.th1,
        requestHandshakeSecret: s.requestSecret,
        responseHandshakeSecret: s.responseSecret,
        ...(s.dheSecret ? { dheSecret: s.dheSecret } : {}),
      });
      return;
    }
    const e = this.pending.get(s.sessionId);
    if (!e) return;
    this.pending.delete(s.sessionId);
    this.write({
      ...e,
      th2: s.th2,
      requestDataSecret: s.requestSecret,
      responseDataSecret: s.responseSecret,
    });
  };

  /** Writes the sessions still in their handshake. */
  flush(): void {
    for (const e of this.pending.values()) this.write(e);
    this.pending.clear();
  }

  private write(e: KeylogEntry): void {
    this.sink(`${formatKeylogLine(e)}\n`);
  }
}

/** What the engines call after deriving handshake secrets (copies the bytes). */
export function handshakeSecrets(
  s: {
    id: number;
    kind: SessionKind;
    binding: SecuredBinding;
    schedule: KeyScheduleParams;
    aead: AeadAlg;
  },
  th1: Uint8Array,
  hs: { request: { secret: Uint8Array }; response: { secret: Uint8Array } },
  dheSecret?: Uint8Array,
): SessionSecrets {
  return {
    phase: 'handshake',
    sessionId: s.id,
    kind: s.kind,
    binding: s.binding,
    schedule: { ...s.schedule },
    aead: s.aead,
    th1: th1.slice(),
    requestSecret: hs.request.secret.slice(),
    responseSecret: hs.response.secret.slice(),
    ...(dheSecret ? { dheSecret: dheSecret.slice() } : {}),
  };
}

/** What the engines call after deriving data secrets (copies the bytes). */
export function dataSecrets(
  sessionId: number,
  th2: Uint8Array,
  data: { request: { secret: Uint8Array }; response: { secret: Uint8Array } },
): SessionSecrets {
  return {
    phase: 'data',
    sessionId,
    th2: th2.slice(),
    requestSecret: data.request.secret.slice(),
    responseSecret: data.response.secret.slice(),
  };
}
