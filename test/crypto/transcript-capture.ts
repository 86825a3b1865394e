/**
 * Pulls whole SPDM messages out of a decoded PCI-DOE capture, trimmed to their real length
 * (DOE pads every object to a dword, and the capture's `len=` counts that padding), for
 * transcript tests. Deliberately independent of src/wire: message lengths are computed
 * here from the few fields DSP0274 1.3 defines for them.
 */
import { type CaptureFrame, type CaptureName, loadCapture } from '../support/captures.ts';

export interface CapturedMessage {
  frame: number;
  code: number;
  bytes: Uint8Array;
  secured: boolean;
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u24 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
const popcount = (v: number) => v.toString(2).replace(/0/g, '').length;

export interface Negotiated {
  version: number;
  H: number;
  S: number;
  D: number;
  /** DIGESTS carries KeyPairID/CertInfo/KeyUsageMask per slot (1.3, MULTI_KEY_CONN). */
  multiKey: boolean;
}

/**
 * Real length of one SPDM message (DSP0274 1.3 layouts). `lastRequest` is the request a
 * response answers (CHALLENGE_AUTH and KEY_EXCHANGE_RSP need its summary-hash type,
 * MEASUREMENTS whether a signature was asked for).
 */
export function spdmLength(m: Uint8Array, n: Negotiated, lastRequest?: Uint8Array): number {
  const v13 = m[0] >= 0x13;
  switch (m[1]) {
    case 0x84: // GET_VERSION
    case 0x81: // GET_DIGESTS
    case 0xe8:
    case 0x68:
    case 0xe9:
    case 0x69:
    case 0xec:
    case 0x6c:
      return 4;
    case 0x04: // VERSION
      return 6 + 2 * m[5];
    case 0xe1: // GET_CAPABILITIES
      return m[0] >= 0x12 ? 20 : m[0] === 0x11 ? 12 : 4;
    case 0x61:
      return m[0] >= 0x12 ? 20 : 12;
    case 0xe3: // NEGOTIATE_ALGORITHMS / ALGORITHMS carry their length
    case 0x63:
      return u16(m, 4);
    case 0x01: // DIGESTS
      return 4 + popcount(m[3]) * (n.H + (n.multiKey ? 4 : 0));
    case 0x82:
      return 8;
    case 0x02: // CERTIFICATE
      return 8 + u16(m, 4);
    case 0x83: // CHALLENGE
      return 36 + (v13 ? 8 : 0);
    case 0x03: {
      // CHALLENGE_AUTH
      const summary = lastRequest && lastRequest[3] !== 0 ? n.H : 0;
      const o = 4 + n.H + 32 + summary;
      return o + 2 + u16(m, o) + (v13 ? 8 : 0) + n.S;
    }
    case 0xe0: // GET_MEASUREMENTS
      return 4 + (m[2] & 1 ? 33 : 0) + (v13 ? 8 : 0);
    case 0x60: {
      const o = 8 + u24(m, 5) + 32;
      const signed = lastRequest ? (lastRequest[2] & 1) !== 0 : true;
      return o + 2 + u16(m, o) + (v13 ? 8 : 0) + (signed ? n.S : 0);
    }
    case 0xe4: {
      // KEY_EXCHANGE
      const o = 40 + n.D;
      return o + 2 + u16(m, o);
    }
    case 0x64: {
      const summary = lastRequest && lastRequest[2] !== 0 ? n.H : 0;
      const o = 40 + n.D + summary;
      return o + 2 + u16(m, o) + n.S + n.H;
    }
    default:
      return m.length;
  }
}

/** Every SPDM message of the capture in order (secured ones from the decrypted plaintext). */
export function capturedMessages(name: CaptureName, n: Negotiated): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  let lastRequest: Uint8Array | undefined;
  for (const f of loadCapture(name) as CaptureFrame[]) {
    if (f.command !== 1 || f.payload.length < 12) continue;
    const type = f.payload[2];
    let body: Uint8Array;
    if (type === 1) body = f.payload.subarray(8);
    else if (type === 2 && f.plaintext) body = f.plaintext;
    else continue;
    const len = spdmLength(body, n, lastRequest);
    const bytes = body.subarray(0, len);
    if (bytes[1] & 0x80) lastRequest = bytes;
    out.push({ frame: f.index, code: bytes[1], bytes, secured: type === 2 });
  }
  return out;
}
