/**
 * SecuredSession against the libspdm captures, and its refusals.
 *
 * Known answers: for every session of the three captures (DOE 1.3, DOE 1.2, MCTP 1.3), a
 * responder-side and a requester-side SecuredSession are keyed from what libspdm logged
 * (DHE secret and TH1/TH2 through the key schedule; the logged traffic keys where the
 * secondary PSK session's printed PSK does not reproduce them), then every secured record of
 * the capture is opened by the receiving side (its plaintext must equal the capture's) and
 * re-sealed by the sending side. For PCI DOE (no random padding) the re-sealed record must
 * equal the captured bytes exactly; for MCTP its header (session id, sequence number,
 * length) must. KEY_UPDATE is replayed as libspdm does it, and the updated keys must equal
 * the logged ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DirectionSecrets, KeyScheduleParams } from '../../src/crypto/key-schedule.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { SecuredSession, SessionError } from '../../src/spdm/session.ts';
import { toHex } from '../../src/wire/hex.ts';
import { doeSecuredRecordBytes, type SecuredBinding } from '../../src/wire/secured.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { loggedSessions, one } from '../crypto/session-log.ts';
import { type CaptureName, loadCapture } from '../support/captures.ts';

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const keysOf = (k: { key: Uint8Array; iv: Uint8Array }): DirectionSecrets => ({
  secret: new Uint8Array(48),
  key: k.key,
  iv: k.iv,
});

interface Pair {
  rsp: SecuredSession;
  req: SecuredSession;
  derived: boolean;
  log: ReturnType<typeof loggedSessions>[number];
  /** The requester's KEY_UPDATE in flight (operation). */
  update?: number;
}

const CASES: { capture: CaptureName; log: string; version: number; binding: SecuredBinding }[] = [
  {
    capture: 'doe-spdm13-session.txt',
    log: 'doe-spdm13-session.requester.log',
    version: 0x13,
    binding: 'pci_doe',
  },
  { capture: 'v12.decoded.txt', log: 'v12.requester.log', version: 0x12, binding: 'pci_doe' },
  { capture: 'mctp.decoded.txt', log: 'mctp.requester.log', version: 0x13, binding: 'mctp' },
];

describe('SecuredSession against the libspdm captures', () => {
  for (const c of CASES) {
    it(`${c.capture}: opens and re-seals every secured record`, () => {
      const schedule: KeyScheduleParams = { version: c.version, hash: 'sha384', aeadKeySize: 32 };
      const logged = loggedSessions(c.log);
      const active = new Map<number, Pair>();
      let nextLogged = 0;
      let lastPlainRequest: Uint8Array | undefined;
      let opened = 0;
      let updates = 0;

      const make = (id: number, role: 'requester' | 'responder', kind: 'dhe' | 'psk') =>
        new SecuredSession({
          id,
          kind,
          binding: c.binding,
          role,
          schedule,
          aead: 'aes-256-gcm',
          random: seededRandom('session-test'),
        });

      for (const f of loadCapture(c.capture)) {
        if (f.command !== 1) continue;
        const doe = c.binding === 'pci_doe';
        const secured = doe ? f.payload[2] === 2 : f.payload[0] === 0x06;
        if (!secured) {
          const msg = f.payload.subarray(doe ? 8 : 1);
          if (msg[1] & 0x80) lastPlainRequest = msg;
          if (msg[1] !== C.SPDM_KEY_EXCHANGE_RSP && msg[1] !== C.SPDM_PSK_EXCHANGE_RSP) continue;
          // A new session: key both ends from the next logged session.
          assert.ok(lastPlainRequest);
          const id = ((u16(msg, 4) << 16) | u16(lastPlainRequest, 4)) >>> 0;
          const log = logged[nextLogged++];
          assert.equal(id.toString(16), log.id, 'session id = RspSessionID << 16 | ReqSessionID');
          const kind = log.values.has('PSK') ? 'psk' : 'dhe';
          const pair: Pair = {
            rsp: make(id, 'responder', kind),
            req: make(id, 'requester', kind),
            derived: false,
            log,
          };
          const shared = log.values.get('DHE Secret')?.[0];
          if (shared || c.version === 0x12) {
            const secret = shared ?? one(log, 'PSK');
            for (const s of [pair.rsp, pair.req]) {
              const hs = s.deriveHandshakeKeys(secret, one(log, 'th1 hash'));
              assert.equal(toHex(hs.request.key), toHex(log.handshakeKeys[0].key));
              assert.equal(toHex(hs.response.iv), toHex(log.handshakeKeys[1].iv));
            }
            pair.derived = true;
          } else {
            // The 1.3 captures' secondary PSK session: use the logged keys (see key-schedule test).
            for (const s of [pair.rsp, pair.req]) {
              s.installKeys(
                'handshake',
                keysOf(log.handshakeKeys[0]),
                keysOf(log.handshakeKeys[1]),
              );
            }
          }
          active.set(id, pair);
          continue;
        }

        const record = doe ? doeSecuredRecordBytes(f.payload.subarray(8)) : f.payload.subarray(1);
        const pair = active.get(f.sessionId ?? -1);
        assert.ok(pair, `#${f.index}: record of a known session`);
        assert.ok(f.plaintext, `#${f.index}: the capture shows the plaintext`);
        const toResponder = f.dir === 'REQ->RSP';
        const [sender, receiver] = toResponder ? [pair.req, pair.rsp] : [pair.rsp, pair.req];
        const before = receiver.sequence;

        // The receiver opens the captured record.
        const { message, mctpType } = receiver.unprotect(record);
        assert.equal(toHex(message), toHex(f.plaintext), `#${f.index}: plaintext`);
        opened++;
        // The sender seals the same plaintext: DOE byte-exact, MCTP same header.
        const padding = new Uint8Array(f.padding ?? 0);
        const resealed = sender.protect(f.plaintext, { padding, mctpType });
        if (doe) assert.equal(toHex(resealed), toHex(record), `#${f.index}: DOE record`);
        else assert.equal(toHex(resealed.subarray(0, 8)), toHex(record.subarray(0, 8)));
        assert.notDeepEqual(receiver.sequence, before, 'a counter advanced');

        // What the two SPDM engines do after this message.
        const code = mctpType === undefined || mctpType === 0x05 ? f.plaintext[1] : -1;
        if (code === C.SPDM_FINISH_RSP || code === C.SPDM_PSK_FINISH_RSP) {
          for (const s of [pair.rsp, pair.req]) {
            if (pair.derived) {
              const d = s.deriveDataKeys(one(pair.log, 'th2 hash'));
              assert.equal(toHex(d.request.key), toHex(pair.log.dataKeys[0].key));
              assert.equal(toHex(d.response.key), toHex(pair.log.dataKeys[1].key));
              s.establish();
            } else {
              s.installKeys('data', keysOf(pair.log.dataKeys[0]), keysOf(pair.log.dataKeys[1]));
            }
            assert.equal(s.phase, 'established');
          }
        } else if (code === C.SPDM_KEY_UPDATE) {
          const op = f.plaintext[2];
          // Responder (libspdm_get_response_key_update).
          if (op === C.SPDM_KEY_UPDATE_OP.UpdateKey) pair.rsp.updateKey('request');
          if (op === C.SPDM_KEY_UPDATE_OP.UpdateAllKeys) {
            pair.rsp.updateKey('request');
            pair.rsp.updateKey('response', false);
          }
          if (op === C.SPDM_KEY_UPDATE_OP.VerifyNewKey) {
            assert.ok(pair.rsp.commitKeyUpdate('request'), 'a pending update to verify');
          }
          // Requester: the ACK of UpdateAllKeys comes under the new response key.
          if (op === C.SPDM_KEY_UPDATE_OP.UpdateAllKeys) pair.req.updateKey('response');
          pair.update = op;
        } else if (code === C.SPDM_KEY_UPDATE_ACK) {
          if (pair.update === C.SPDM_KEY_UPDATE_OP.UpdateAllKeys) {
            pair.req.commitKeyUpdate('response');
            pair.req.updateKey('request');
            // The keys libspdm logged for this update, responder direction first.
            const upd = pair.log.updates.slice(updates, updates + 2);
            updates += 2;
            const byDir = (d: string) => upd.find((u) => u.direction === d);
            assert.equal(
              toHex(pair.rsp.trafficKeys('response')!.key),
              toHex(byDir('Responder')!.key),
            );
            assert.equal(
              toHex(pair.rsp.trafficKeys('request')!.key),
              toHex(byDir('Requester')!.key),
            );
          }
          if (pair.update === C.SPDM_KEY_UPDATE_OP.UpdateKey) pair.req.updateKey('request');
          if (pair.update === C.SPDM_KEY_UPDATE_OP.VerifyNewKey)
            pair.req.commitKeyUpdate('request');
          pair.update = undefined;
        } else if (code === C.SPDM_END_SESSION_ACK) {
          pair.rsp.end();
          pair.req.end();
          assert.equal(pair.rsp.phase, 'ended');
          active.delete(pair.rsp.id);
          updates = 0;
        }
      }
      assert.equal(nextLogged, logged.length, 'every logged session was replayed');
      assert.ok(opened >= 16, `${opened} records opened`);
    });
  }
});

describe('SecuredSession refusals', () => {
  const schedule: KeyScheduleParams = { version: 0x13, hash: 'sha256', aeadKeySize: 16 };
  const pair = (binding: SecuredBinding) => {
    const mk = (role: 'requester' | 'responder') =>
      new SecuredSession({
        id: 0x00020001,
        kind: 'dhe',
        binding,
        role,
        schedule,
        aead: 'aes-128-gcm',
        random: seededRandom(`refusals-${role}`),
      });
    const req = mk('requester');
    const rsp = mk('responder');
    const secret = new Uint8Array(32).fill(7);
    const th1 = new Uint8Array(32).fill(1);
    req.deriveHandshakeKeys(secret, th1);
    rsp.deriveHandshakeKeys(secret, th1);
    return { req, rsp };
  };
  const spdm = Uint8Array.of(0x13, 0xe8, 0, 0);

  for (const binding of ['pci_doe', 'mctp'] as const) {
    it(`${binding}: a replayed record does not open a second time`, () => {
      const { req, rsp } = pair(binding);
      const rec = req.protect(spdm);
      assert.equal(toHex(rsp.unprotect(rec).message), toHex(spdm));
      assert.throws(
        () => rsp.unprotect(rec),
        (e: unknown) =>
          e instanceof SessionError &&
          e.reason === (binding === 'mctp' ? 'sequence' : 'decrypt-failed'),
      );
      // The failed attempt did not move the counter: the next genuine record still opens.
      assert.equal(toHex(rsp.unprotect(req.protect(spdm)).message), toHex(spdm));
    });

    it(`${binding}: reordered records and a flipped bit fail, the id is checked`, () => {
      const { req, rsp } = pair(binding);
      const first = req.protect(spdm);
      const second = req.protect(spdm);
      assert.throws(() => rsp.unprotect(second), SessionError);
      const tampered = first.slice();
      tampered[tampered.length - 20] ^= 1;
      assert.throws(
        () => rsp.unprotect(tampered),
        (e: unknown) => e instanceof SessionError && e.reason === 'decrypt-failed',
      );
      const otherId = first.slice();
      otherId[0] ^= 1;
      assert.throws(
        () => rsp.unprotect(otherId),
        (e: unknown) => e instanceof SessionError && e.reason === 'unknown-session',
      );
      assert.throws(
        () => rsp.unprotect(first.subarray(0, 5)),
        (e: unknown) => e instanceof SessionError && e.reason === 'malformed',
      );
      assert.equal(toHex(rsp.unprotect(first).message), toHex(spdm));
    });
  }

  it('KEY_UPDATE: the old key stays usable until verified, then is gone', () => {
    const { req, rsp } = pair('pci_doe');
    for (const s of [req, rsp]) {
      s.deriveDataKeys(new Uint8Array(32).fill(2));
      s.establish();
    }
    // The responder updated, but the requester never saw the ACK: it still uses the old key.
    rsp.updateKey('request');
    assert.ok(rsp.hasPendingUpdate('request'));
    const r = rsp.unprotect(req.protect(spdm));
    assert.equal(r.rolledBack, 'request');
    assert.ok(!rsp.hasPendingUpdate('request'));
    // Both update; once committed, a record under the old key no longer opens.
    rsp.updateKey('request');
    const oldKeyRecord = req.protect(spdm);
    req.updateKey('request', false);
    assert.equal(toHex(rsp.unprotect(req.protect(spdm)).message), toHex(spdm));
    assert.ok(rsp.commitKeyUpdate('request'));
    assert.throws(() => rsp.unprotect(oldKeyRecord), SessionError);
  });

  it('end() wipes the secrets and refuses everything', () => {
    const { req, rsp } = pair('pci_doe');
    const hs = rsp.handshake!;
    rsp.end();
    assert.ok(hs.request.key.every((b) => b === 0));
    assert.ok(hs.handshakeSecret.every((b) => b === 0));
    assert.throws(() => rsp.protect(spdm), RangeError);
    assert.throws(
      () => rsp.unprotect(req.protect(spdm)),
      (e: unknown) => e instanceof SessionError && e.reason === 'not-ready',
    );
  });

  it('the key switch happens only on establish(), after FINISH_RSP is sealed', () => {
    const { req, rsp } = pair('mctp');
    rsp.deriveDataKeys(new Uint8Array(32).fill(3));
    req.deriveDataKeys(new Uint8Array(32).fill(3));
    const finishRsp = rsp.protect(Uint8Array.of(0x13, 0x65, 0, 0));
    rsp.establish();
    assert.equal(toHex(req.unprotect(finishRsp).message), '13650000');
    req.establish();
    assert.deepEqual(rsp.sequence, {
      requestHandshake: 0,
      responseHandshake: 1,
      requestData: 0,
      responseData: 0,
    });
    assert.equal(toHex(rsp.unprotect(req.protect(spdm)).message), toHex(spdm));
  });
});
