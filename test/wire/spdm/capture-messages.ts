/**
 * Pulls SPDM messages out of the three libspdm captures as exact bytes, for the
 * known-answer tests (auth-captures, session-captures), and reads the libspdm Debug logs
 * that go with each capture.
 *
 * Plain DOE frames are padded to a dword and the capture's `len=` counts that padding, so
 * the message is cut to the size the sender's libspdm log printed ("libspdm_send_spdm_request
 * ... size (0x2d)", "SpdmSendResponse ... size (0x2a2)"). MCTP payloads lose their 0x05 type
 * byte; secured records give the decrypted SPDM message as `plaintext` (for MCTP without the
 * inner 0x05 byte).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bytesEqual, toHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import type { SpdmCodecContext } from '../../../src/wire/spdm/context.ts';
import type { SpdmMessage } from '../../../src/wire/spdm/messages.ts';
import {
  type CaptureFrame,
  type CaptureName,
  loadCapture,
  vectorPath,
} from '../../support/captures.ts';

/** The stem of the libspdm logs that go with each capture. */
export const LOG_BASE: Record<CaptureName, string> = {
  'doe-spdm13-session.txt': 'doe-spdm13-session',
  'v12.decoded.txt': 'v12',
  'mctp.decoded.txt': 'mctp',
};

/** The requester's log of a capture. */
export const REQ_LOG = (name: CaptureName) => `${LOG_BASE[name]}.requester.log`;

/** A libspdm log of the captures folder, as text. */
export function logText(file: string): string {
  return readFileSync(vectorPath('libspdm-captures', file), 'utf8');
}

/** Sizes libspdm's sender logged for each message name, in order, per direction. */
function sentSizes(name: CaptureName): Record<CaptureFrame['dir'], Map<string, number[]>> {
  const read = (side: string, re: RegExp) => {
    const out = new Map<string, number[]>();
    for (const m of logText(`${LOG_BASE[name]}.${side}.log`).matchAll(re)) {
      const list = out.get(m[1]) ?? [];
      list.push(Number.parseInt(m[2], 16));
      out.set(m[1], list);
    }
    return out;
  };
  return {
    'REQ->RSP': read(
      'requester',
      /libspdm_send_spdm_request\[\w+\] msg SPDM_(\w+)\(0x[0-9a-f]+\), size \(0x([0-9a-f]+)\)/g,
    ),
    'RSP->REQ': read(
      'responder',
      /SpdmSendResponse\[\w+\]: msg SPDM_(\w+)\(0x[0-9a-f]+\), size \(0x([0-9a-f]+)\)/g,
    ),
  };
}

export interface CapturedMessage {
  frame: CaptureFrame;
  code: number;
  version: number;
  bytes: Uint8Array;
  /** The capture's own description lines, from the SPDM one on. */
  notes: string[];
}

const SPDM_NOTE = /^SPDM (\d)\.(\d) (\w+)\(0x([0-9a-f]{2})\)/;

/**
 * The messages of one capture whose code is in `codes`, in order, as exact SPDM bytes;
 * the ones inside secured records only when `secured`.
 */
export function capturedMessages(
  name: CaptureName,
  codes: ReadonlySet<number>,
  secured: boolean,
): CapturedMessage[] {
  const sizes = sentSizes(name);
  const seen = new Map<string, number>();
  const out: CapturedMessage[] = [];
  for (const frame of loadCapture(name)) {
    if (frame.plaintext && !secured) continue;
    const i = frame.notes.findIndex((n) => SPDM_NOTE.test(n));
    if (i < 0) continue;
    const [, major, minor, msgName, hex] = SPDM_NOTE.exec(frame.notes[i])!;
    const code = Number.parseInt(hex, 16);
    if (!codes.has(code)) continue;
    const version = (Number(major) << 4) | Number(minor);
    let bytes: Uint8Array;
    if (frame.plaintext) {
      bytes = frame.plaintext;
    } else if (frame.transport === 1) {
      assert.equal(frame.payload[0], 0x05, `#${frame.index}: MCTP type`);
      bytes = frame.payload.slice(1);
    } else {
      const key = `${frame.dir}:${msgName}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      const size = sizes[frame.dir].get(msgName)?.[n];
      assert.ok(size, `#${frame.index}: no logged size for ${msgName} #${n}`);
      const body = frame.payload.subarray(8);
      assert.ok(body.length - size < 4, `#${frame.index}: more than DOE padding`);
      assert.ok(
        body.subarray(size).every((b) => b === 0),
        `#${frame.index}: DOE padding not zero`,
      );
      bytes = body.slice(0, size);
    }
    assert.equal(bytes[0], version, `#${frame.index}: version byte`);
    assert.equal(bytes[1], code, `#${frame.index}: code byte`);
    out.push({ frame, code, version, bytes, notes: frame.notes.slice(i) });
  }
  return out;
}

/** Decodes a captured message under `ctx`, checking its code and that it re-encodes exactly. */
export function decodeReencoding(
  name: CaptureName,
  f: CapturedMessage,
  ctx: SpdmCodecContext,
): SpdmMessage {
  const m = decodeSpdm(f.bytes, ctx);
  assert.equal(m.code, f.code);
  const again = encodeSpdm(m, ctx);
  assert.ok(
    bytesEqual(again, f.bytes),
    `${name} #${f.frame.index}: re-encoded ${toHex(again)} != ${toHex(f.bytes)}`,
  );
  return m;
}
