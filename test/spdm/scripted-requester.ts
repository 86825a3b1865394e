/**
 * A scripted SPDM requester for responder tests: it builds each request with the wire
 * encoders, sends it through the real binding framing (DOE objects with their dword
 * padding, or MCTP type bytes), and keeps its own transcripts as plain byte lists, so every
 * signature and VerifyData the responder produces can be checked with crypto/ alone.
 */
import assert from 'node:assert/strict';
import { digest } from '../../src/crypto/hash.ts';
import type { KeyScheduleParams } from '../../src/crypto/key-schedule.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import type { SpdmResponder } from '../../src/spdm/responder/responder.ts';
import { openSession, protect, type SessionState, unprotect } from '../../src/spdm/session.ts';
import { decodeTransportPayload, encodeTransportPayload } from '../../src/transport/binding.ts';
import type { TransportMessage } from '../../src/transport/types.ts';
import { concat } from '../../src/wire/hex.ts';
import type { SecuredBinding } from '../../src/wire/secured.ts';
import { decodeSpdm, encodeSpdm } from '../../src/wire/spdm/codec.ts';
import { SPDM_ERROR } from '../../src/wire/spdm/constants.ts';
import type { AlgorithmSizes, SpdmCodecContext } from '../../src/wire/spdm/context.ts';
import type { ErrorResponse } from '../../src/wire/spdm/error.ts';
import type { SpdmMessage } from '../../src/wire/spdm/messages.ts';

export interface ScriptedSession {
  id: number;
  secured: SessionState;
  /** TH so far: K then F (A and Hash(Cert) are prepended by `th`). */
  k: Uint8Array[];
  f: Uint8Array[];
  certHash?: Uint8Array;
  /** The session's own M (measurements inside the session). */
  m: Uint8Array[];
}

export class ScriptedRequester {
  readonly a: Uint8Array[] = [];
  readonly b: Uint8Array[] = [];
  readonly c: Uint8Array[] = [];
  readonly m: Uint8Array[] = [];
  version = 0x10;
  sizes: AlgorithmSizes | undefined;
  readonly random = seededRandom('scripted-requester');

  constructor(
    readonly responder: Pick<SpdmResponder, 'handle'>,
    readonly binding: SecuredBinding = 'pci_doe',
  ) {}

  /** Through the binding's framing both ways, as a transport would. */
  private wire(m: TransportMessage): TransportMessage | undefined {
    const framed = decodeTransportPayload(this.binding, encodeTransportPayload(this.binding, m));
    const out = this.responder.handle(framed);
    if (!out) return undefined;
    return decodeTransportPayload(this.binding, encodeTransportPayload(this.binding, out));
  }

  /**
   * Sends raw request bytes in the clear; returns the exact response bytes (DOE padding
   * trimmed by decoding with `ctx`, which must say what the response's layout needs).
   */
  sendRaw(bytes: Uint8Array, ctx: Partial<SpdmCodecContext> = {}): Uint8Array | undefined {
    const out = this.wire({ secured: false, bytes });
    if (!out) return undefined;
    assert.equal(out.secured, false, 'a plain request gets a plain answer');
    return this.trim(out, ctx);
  }

  /** Sends one encoded request inside a session; returns the decrypted response. */
  sendSecuredRaw(s: ScriptedSession, bytes: Uint8Array): Uint8Array | undefined {
    const out = this.wire({ secured: true, bytes: this.seal(s, bytes) });
    if (!out) return undefined;
    assert.equal(out.secured, true, 'a secured request gets a secured answer');
    return this.open(s, out.bytes);
  }

  /** The next record of `s` carrying `bytes` (the session's counter moves on). */
  seal(s: ScriptedSession, bytes: Uint8Array): Uint8Array {
    const r = protect(s.secured, bytes, this.random);
    s.secured = r.session;
    return r.record;
  }

  /** The message in the responder's next record of `s` (the session's counter moves on). */
  open(s: ScriptedSession, record: Uint8Array): Uint8Array {
    const r = unprotect(s.secured, record);
    s.secured = r.session;
    return r.message;
  }

  /** The response without DOE padding: decode candidates the way the transport documents. */
  private trim(out: TransportMessage, ctx: Partial<SpdmCodecContext>): Uint8Array {
    const pad = out.maxPad ?? 0;
    for (let cut = pad; cut > 0; cut--) {
      const b = out.bytes.subarray(0, out.bytes.length - cut);
      try {
        this.decode(b, ctx);
        return b.slice();
      } catch {
        // not this length
      }
    }
    return out.bytes;
  }

  codec(extra: Partial<SpdmCodecContext> = {}): SpdmCodecContext {
    return { sizes: this.sizes, ...extra };
  }

  decode(bytes: Uint8Array, extra: Partial<SpdmCodecContext> = {}): SpdmMessage {
    return decodeSpdm(bytes, this.codec(extra));
  }

  encode(m: SpdmMessage, extra: Partial<SpdmCodecContext> = {}): Uint8Array {
    return encodeSpdm(m, this.codec(extra));
  }

  /** Sends a request message; returns [response bytes, decoded response]. */
  exchange<R extends SpdmMessage = SpdmMessage>(
    req: SpdmMessage,
    s?: ScriptedSession,
    extra: Partial<SpdmCodecContext> = {},
  ): { reqBytes: Uint8Array; rspBytes: Uint8Array; rsp: R } {
    const reqBytes = this.encode(req, extra);
    const rspBytes = s
      ? this.sendSecuredRaw(s, reqBytes)
      : this.sendRaw(reqBytes, { request: req, ...extra });
    assert.ok(rspBytes, 'the responder answered');
    const rsp = this.decode(rspBytes, { request: req, ...extra }) as R;
    return { reqBytes, rspBytes, rsp };
  }

  /** Sends and expects ERROR with `errorCode`. */
  expectError(
    req: SpdmMessage | Uint8Array,
    errorCode: number,
    s?: ScriptedSession,
  ): ErrorResponse {
    const bytes = req instanceof Uint8Array ? req : this.encode(req);
    const rspBytes = s ? this.sendSecuredRaw(s, bytes) : this.sendRaw(bytes);
    assert.ok(rspBytes, 'an ERROR came back');
    assert.equal(rspBytes[1], SPDM_ERROR, 'the answer is ERROR');
    const e = decodeSpdm(rspBytes) as ErrorResponse;
    assert.equal(e.errorCode, errorCode, `ERROR code 0x${e.errorCode.toString(16)}`);
    return e;
  }

  /** A requester-side session keyed from the DHE secret / PSK and TH1. */
  openSession(
    id: number,
    kind: 'dhe' | 'psk',
    schedule: KeyScheduleParams,
    aead: 'aes-256-gcm' | 'aes-128-gcm' | 'chacha20-poly1305',
  ): ScriptedSession {
    return {
      id,
      secured: openSession({ id, kind, binding: this.binding, role: 'requester', schedule, aead }),
      k: [],
      f: [],
      m: [],
    };
  }

  /** TH bytes of a session: A || [Hash(Cert)] || K || F. */
  th(s: ScriptedSession): Uint8Array {
    return concat(...this.a, ...(s.certHash ? [s.certHash] : []), ...s.k, ...s.f);
  }

  thHash(s: ScriptedSession, hash: 'sha256' | 'sha384' | 'sha512', ...more: Uint8Array[]) {
    return digest(hash, this.th(s), ...more);
  }
}
