/**
 * Reads the SPDM messages and transcript hashes a libspdm Debug log printed, in order:
 * requester logs show "libspdm_send_spdm_request[sid] msg NAME(0xNN), size (0xNN):" and
 * "libspdm_receive_spdm_response[sid] ...", responder logs "SpdmReceiveRequest[sid] msg ..."
 * and "SpdmSendResponse[sid]: msg ...", each followed by the exact message bytes (no
 * transport padding). Independent of src/: it only collects what libspdm printed.
 */
import { readFileSync } from 'node:fs';
import { vectorPath } from '../support/captures.ts';

export type LogEntry =
  | { kind: 'message'; request: boolean; sessionId: number; bytes: Uint8Array; line: number }
  | { kind: 'hash'; name: string; value: Uint8Array; line: number };

const HEADER =
  /^(libspdm_send_spdm_request|libspdm_receive_spdm_response|SpdmReceiveRequest|SpdmSendResponse)\[([0-9a-f]+)\]:? msg \S+\(0x[0-9a-f]+\), size \(0x([0-9a-f]+)\):/;
const HEX = /^[0-9a-f]{4}: ((?:[0-9a-f]{2} ?)+)\s*$/;
const HASH = /^(m1m2 hash|l1l2 hash|th1 hash|th2 hash|th_curr hash) - ((?:[0-9a-f]{2} ?)+)\s*$/;

const bytesOf = (s: string) =>
  s
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16));

/** Every message and transcript hash of one log, in log order. */
export function logEntries(file: string): LogEntry[] {
  const lines = readFileSync(vectorPath('libspdm-captures', file), 'utf8').split(/\r?\n/);
  const out: LogEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const h = HEADER.exec(lines[i]);
    if (h) {
      const size = Number.parseInt(h[3], 16);
      const bytes: number[] = [];
      for (let j = i + 1; j < lines.length && bytes.length < size; j++) {
        const m = HEX.exec(lines[j]);
        if (!m) break;
        bytes.push(...bytesOf(m[1]));
      }
      if (bytes.length !== size)
        throw new Error(`${file}:${i + 1}: ${bytes.length} of ${size} bytes`);
      out.push({
        kind: 'message',
        request: h[1] === 'libspdm_send_spdm_request' || h[1] === 'SpdmReceiveRequest',
        sessionId: Number.parseInt(h[2], 16) >>> 0,
        bytes: Uint8Array.from(bytes),
        line: i + 1,
      });
      continue;
    }
    const v = HASH.exec(lines[i]);
    if (v)
      out.push({ kind: 'hash', name: v[1], value: Uint8Array.from(bytesOf(v[2])), line: i + 1 });
  }
  return out;
}

/**
 * The entries of `file` with every message at its exact size. A libspdm log prints what it
 * received with the transport's padding (DOE pads to a dword), so requests are taken from
 * the requester's log and responses from the responder's, matched by position; the padded
 * copy must agree with the exact one up to zero padding.
 */
export function exactLogEntries(
  capture: 'doe-spdm13-session' | 'v12' | 'mctp',
  side: 'requester' | 'responder',
): LogEntry[] {
  const sent = (f: string, request: boolean) =>
    logEntries(f).filter(
      (e): e is Extract<LogEntry, { kind: 'message' }> =>
        e.kind === 'message' && e.request === request,
    );
  const requests = sent(`${capture}.requester.log`, true);
  const responses = sent(`${capture}.responder.log`, false);
  let qi = 0;
  let si = 0;
  return logEntries(`${capture}.${side}.log`).map((e) => {
    if (e.kind !== 'message') return e;
    const exact = e.request ? requests[qi++] : responses[si++];
    if (!exact) throw new Error(`${capture}.${side}.log:${e.line}: no exact copy`);
    const pad = e.bytes.subarray(exact.bytes.length);
    const same =
      e.bytes.length >= exact.bytes.length &&
      pad.length < 4 &&
      pad.every((b) => b === 0) &&
      Buffer.from(e.bytes.subarray(0, exact.bytes.length)).equals(Buffer.from(exact.bytes));
    if (!same) throw new Error(`${capture}.${side}.log:${e.line}: differs from the sender's copy`);
    return { ...e, bytes: exact.bytes };
  });
}
