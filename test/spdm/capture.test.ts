/**
 * spdm/capture (offline decoding of a pcap with a key log) against real libspdm traffic.
 *
 * Known answers: the socket payloads of the three libspdm captures (DOE 1.3, DOE 1.2,
 * MCTP 1.3) are written as a pcap with spdm-emu's own per-packet layout (the DOE object as
 * is; for MCTP the 4-byte transport header 00 00 00 C0 first), and a key log is written
 * from the secrets libspdm's Debug build printed (TH1, request/response handshake secrets,
 * TH2, data secrets, the DHE secret). The decoder must then decrypt every secured record
 * of a logged session to exactly the plaintext the capture shows, in the direction it
 * went, through the key switch, both KEY_UPDATEs and session ids reused across sessions.
 * The 1.3 captures' PSK session logs no secrets (only its PSK, which does not reproduce
 * its keys: see test/spdm/session.test.ts), so its records must be reported as not
 * decrypted with their session id, as records of any session missing from a key log are.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveDataSecrets,
  deriveHandshakeSecrets,
  type KeyScheduleParams,
} from '../../src/crypto/key-schedule.ts';
import { decodeCapture } from '../../src/spdm/capture.ts';
import { formatKeylogLine, type KeylogEntry, parseKeylog } from '../../src/spdm/keylog.ts';
import { toHex } from '../../src/wire/hex.ts';
import { encodePcap, LINKTYPE_MCTP, LINKTYPE_PCI_DOE, type PcapFile } from '../../src/wire/pcap.ts';
import { loggedSessions, one } from '../crypto/session-log.ts';
import { type CaptureFrame, type CaptureName, loadCapture } from '../support/captures.ts';

const CASES: { capture: CaptureName; log: string; version: number; mctp: boolean }[] = [
  {
    capture: 'doe-spdm13-session.txt',
    log: 'doe-spdm13-session.requester.log',
    version: 0x13,
    mctp: false,
  },
  { capture: 'v12.decoded.txt', log: 'v12.requester.log', version: 0x12, mctp: false },
  { capture: 'mctp.decoded.txt', log: 'mctp.requester.log', version: 0x13, mctp: true },
];

/** The pcap spdm-emu would have written: one record per NORMAL frame's payload. */
function pcapOf(frames: CaptureFrame[], mctp: boolean): { file: PcapFile; frames: CaptureFrame[] } {
  const normal = frames.filter((f) => f.command === 1);
  const records = normal.map((f, i) => ({
    tsSec: 1_700_000_000,
    tsFrac: i,
    data: mctp ? Uint8Array.from([0, 0, 0, 0xc0, ...f.payload]) : f.payload,
  }));
  return {
    file: {
      header: { linkType: mctp ? LINKTYPE_MCTP : LINKTYPE_PCI_DOE, snapLen: 0x10000 },
      records,
    },
    frames: normal,
  };
}

/** Key log lines from what libspdm logged (the PSK session of 1.2 through the key schedule). */
function keylogOf(log: string, version: number): { text: string; withoutKeys: Set<number> } {
  const lines: string[] = ['# from the libspdm Debug log'];
  const withoutKeys = new Set<number>();
  const p: KeyScheduleParams = { version, hash: 'sha384', aeadKeySize: 32 };
  for (const s of loggedSessions(log)) {
    const sessionId = Number.parseInt(s.id, 16) >>> 0;
    const base = { sessionId, version, hash: 'sha384', aead: 'aes-256-gcm' } as const;
    let e: KeylogEntry;
    if (s.values.has('DHE Secret')) {
      e = {
        ...base,
        kind: 'dhe',
        th1: one(s, 'th1 hash'),
        requestHandshakeSecret: one(s, 'request_handshake_secret'),
        responseHandshakeSecret: one(s, 'response_handshake_secret'),
        th2: one(s, 'th2 hash'),
        requestDataSecret: one(s, 'request_data_secret'),
        responseDataSecret: one(s, 'response_data_secret'),
        dheSecret: one(s, 'DHE Secret'),
      };
    } else if (version === 0x12) {
      const hs = deriveHandshakeSecrets(p, one(s, 'PSK'), one(s, 'th1 hash'));
      const data = deriveDataSecrets(p, hs.handshakeSecret, one(s, 'th2 hash'));
      e = {
        ...base,
        kind: 'psk',
        th1: one(s, 'th1 hash'),
        requestHandshakeSecret: hs.request.secret,
        responseHandshakeSecret: hs.response.secret,
        th2: one(s, 'th2 hash'),
        requestDataSecret: data.request.secret,
        responseDataSecret: data.response.secret,
      };
    } else {
      withoutKeys.add(sessionId);
      continue;
    }
    lines.push(formatKeylogLine(e));
  }
  return { text: `${lines.join('\n')}\n`, withoutKeys };
}

describe('capture decoding against the libspdm captures', () => {
  for (const c of CASES) {
    it(`${c.capture}: every secured record of a logged session decrypts to the capture's plaintext`, () => {
      const { file, frames } = pcapOf(loadCapture(c.capture), c.mctp);
      const { text, withoutKeys } = keylogOf(c.log, c.version);
      const keylog = parseKeylog(text);
      // The line format round-trips what the log gave.
      assert.equal(
        keylog.map(formatKeylogLine).join('\n'),
        text.split('\n').slice(1, -1).join('\n'),
      );
      const decoded = decodeCapture(
        // Through the file format too.
        { header: file.header, records: file.records },
        keylog,
      );
      assert.equal(encodePcap(file).length > 24, true);
      let secured = 0;
      let withoutKeysSeen = 0;
      const keySets = new Set<string>();
      decoded.messages.forEach((m, i) => {
        const f = frames[i];
        const where = `record ${m.record} (capture #${f.index})`;
        assert.equal(m.error, undefined, `${where}: ${m.error}`);
        if (f.sessionId === undefined) {
          assert.equal(m.secured, undefined, where);
          // Plain SPDM and DOE discovery: direction from the code / request-response order.
          assert.equal(m.direction, f.dir === 'REQ->RSP' ? 'request' : 'response', where);
          return;
        }
        assert.ok(m.secured, where);
        assert.equal(m.secured.sessionId, f.sessionId, where);
        if (withoutKeys.has(f.sessionId)) {
          assert.equal(m.secured.state, 'no-keys', where);
          withoutKeysSeen++;
          return;
        }
        assert.equal(m.secured.state, 'decrypted', where);
        assert.equal(m.direction, f.dir === 'REQ->RSP' ? 'request' : 'response', where);
        assert.ok(f.plaintext && m.message, where);
        assert.equal(toHex(m.message), toHex(f.plaintext), `${where}: plaintext`);
        keySets.add(m.secured.keys ?? '');
        secured++;
      });
      assert.ok(secured > 10, `${secured} records decrypted`);
      assert.equal(decoded.sessionsUsed, keylog.length, 'every key log entry opened its session');
      if (c.capture === 'doe-spdm13-session.txt') {
        assert.ok(withoutKeysSeen > 0, 'the PSK session is there, shown as not decrypted');
      }
      if (!c.mctp) {
        // Both DOE captures run two KEY_UPDATEs (UpdateKey, UpdateAllKeys).
        assert.ok(
          [...keySets].some((k) => k.startsWith('data+')),
          `KEY_UPDATE generations followed (${[...keySets]})`,
        );
      }
      // IDE_KM and TDISP inside vendor-defined messages are decoded (DOE captures).
      if (!c.mctp) {
        const protocols = new Set(decoded.messages.map((m) => m.description?.protocol));
        assert.ok(protocols.has('IDE_KM') && protocols.has('TDISP'), [...protocols].join(','));
      }
    });
  }

  it('without a key log every secured record is shown with its session id, not decrypted', () => {
    const { file, frames } = pcapOf(loadCapture('doe-spdm13-session.txt'), false);
    const decoded = decodeCapture(file);
    decoded.messages.forEach((m, i) => {
      const id = frames[i].sessionId;
      if (id === undefined) return;
      assert.deepEqual(m.secured, { sessionId: id, state: 'no-keys' });
      assert.equal(m.message, undefined);
    });
  });

  it('wrong keys: records are reported as not opened, nothing throws', () => {
    const { file } = pcapOf(loadCapture('v12.decoded.txt'), false);
    const { text } = keylogOf('v12.requester.log', 0x12);
    const wrong = parseKeylog(text).map((e) => ({
      ...e,
      requestHandshakeSecret: e.requestHandshakeSecret.map((b) => b ^ 1),
      responseHandshakeSecret: e.responseHandshakeSecret.map((b) => b ^ 1),
      requestDataSecret: e.requestDataSecret?.map((b) => b ^ 1),
      responseDataSecret: e.responseDataSecret?.map((b) => b ^ 1),
    }));
    const decoded = decodeCapture(file, wrong);
    const states = new Set(decoded.messages.flatMap((m) => (m.secured ? [m.secured.state] : [])));
    assert.deepEqual([...states], ['not-opened']);
  });
});
