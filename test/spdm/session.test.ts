/**
 * The secured-session functions against the libspdm captures, and their refusals.
 *
 * Known answers: for every session of the three captures (DOE 1.3, DOE 1.2, MCTP 1.3), a
 * responder-side and a requester-side session are keyed from what libspdm logged
 * (DHE secret and TH1/TH2 through the key schedule; the logged traffic keys where the
 * secondary PSK session's printed PSK does not reproduce them), then every secured record of
 * the capture is opened by the receiving side (its plaintext must equal the capture's) and
 * re-sealed by the sending side. For PCI DOE (no random padding) the re-sealed record must
 * equal the captured bytes exactly; for MCTP its header (session id, sequence number,
 * length) must. KEY_UPDATE is replayed as libspdm does it, and the updated keys must equal
 * the logged ones. Sessions are values: each call returns the next one, and a failed call
 * leaves its input usable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DirectionSecrets, KeyScheduleParams } from '../../src/crypto/key-schedule.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import {
  closeSession,
  commitKeyUpdate,
  deriveDataKeys,
  deriveHandshakeKeys,
  establishSession,
  hasPendingUpdate,
  installKeys,
  openSession,
  protect,
  SessionError,
  type SessionState,
  sessionSequence,
  trafficKeys,
  unprotect,
  updateKey,
} from '../../src/spdm/session.ts';
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
  rsp: SessionState;
  req: SessionState;
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

describe('secured sessions against the libspdm captures', () => {
  for (const c of CASES) {
    it(`${c.capture}: opens and re-seals every secured record`, () => {
      const schedule: KeyScheduleParams = { version: c.version, hash: 'sha384', aeadKeySize: 32 };
      const logged = loggedSessions(c.log);
      const active = new Map<number, Pair>();
      let nextLogged = 0;
      let lastPlainRequest: Uint8Array | undefined;
      let opened = 0;
      let updates = 0;

      const random = seededRandom('session-test');
      const make = (id: number, role: 'requester' | 'responder', kind: 'dhe' | 'psk') =>
        openSession({ id, kind, binding: c.binding, role, schedule, aead: 'aes-256-gcm' });
      /** Applies `f` to both ends of a pair. */
      const both = (pair: Pair, f: (s: SessionState) => SessionState) => {
        pair.rsp = f(pair.rsp);
        pair.req = f(pair.req);
      };

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
            both(pair, (s) => {
              const next = deriveHandshakeKeys(s, secret, one(log, 'th1 hash'));
              const hs = next.handshake;
              assert.equal(toHex(hs.request.key), toHex(log.handshakeKeys[0].key));
              assert.equal(toHex(hs.response.iv), toHex(log.handshakeKeys[1].iv));
              return next;
            });
            pair.derived = true;
          } else {
            // The 1.3 captures' secondary PSK session: use the logged keys (see key-schedule test).
            both(pair, (s) =>
              installKeys(
                s,
                'handshake',
                keysOf(log.handshakeKeys[0]),
                keysOf(log.handshakeKeys[1]),
              ),
            );
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
        const before = sessionSequence(receiver);

        // The receiver opens the captured record.
        const { message, mctpType, session: received } = unprotect(receiver, record);
        assert.equal(toHex(message), toHex(f.plaintext), `#${f.index}: plaintext`);
        opened++;
        // The sender seals the same plaintext: DOE byte-exact, MCTP same header.
        const padding = new Uint8Array(f.padding ?? 0);
        const sealed = protect(sender, f.plaintext, random, { padding, mctpType });
        const resealed = sealed.record;
        if (doe) assert.equal(toHex(resealed), toHex(record), `#${f.index}: DOE record`);
        else assert.equal(toHex(resealed.subarray(0, 8)), toHex(record.subarray(0, 8)));
        assert.notDeepEqual(sessionSequence(received), before, 'a counter advanced');
        assert.deepEqual(sessionSequence(receiver), before, 'the input session is unchanged');
        if (toResponder) [pair.req, pair.rsp] = [sealed.session, received];
        else [pair.rsp, pair.req] = [sealed.session, received];

        // What the two SPDM engines do after this message.
        const code = mctpType === undefined || mctpType === 0x05 ? f.plaintext[1] : -1;
        if (code === C.SPDM_FINISH_RSP || code === C.SPDM_PSK_FINISH_RSP) {
          both(pair, (s) => {
            let next: SessionState;
            if (pair.derived) {
              const withData = deriveDataKeys(s, one(pair.log, 'th2 hash'));
              assert.equal(toHex(withData.data.request.key), toHex(pair.log.dataKeys[0].key));
              assert.equal(toHex(withData.data.response.key), toHex(pair.log.dataKeys[1].key));
              next = establishSession(withData);
            } else {
              next = installKeys(
                s,
                'data',
                keysOf(pair.log.dataKeys[0]),
                keysOf(pair.log.dataKeys[1]),
              );
            }
            assert.equal(next.phase, 'established');
            return next;
          });
        } else if (code === C.SPDM_KEY_UPDATE) {
          const op = f.plaintext[2];
          // Responder (libspdm_get_response_key_update).
          if (op === C.SPDM_KEY_UPDATE_OP.UpdateKey) pair.rsp = updateKey(pair.rsp, 'request');
          if (op === C.SPDM_KEY_UPDATE_OP.UpdateAllKeys) {
            pair.rsp = updateKey(updateKey(pair.rsp, 'request'), 'response', false);
          }
          if (op === C.SPDM_KEY_UPDATE_OP.VerifyNewKey) {
            assert.ok(hasPendingUpdate(pair.rsp, 'request'), 'a pending update to verify');
            pair.rsp = commitKeyUpdate(pair.rsp, 'request');
          }
          // Requester: the ACK of UpdateAllKeys comes under the new response key.
          if (op === C.SPDM_KEY_UPDATE_OP.UpdateAllKeys) pair.req = updateKey(pair.req, 'response');
          pair.update = op;
        } else if (code === C.SPDM_KEY_UPDATE_ACK) {
          if (pair.update === C.SPDM_KEY_UPDATE_OP.UpdateAllKeys) {
            pair.req = updateKey(commitKeyUpdate(pair.req, 'response'), 'request');
            // The keys libspdm logged for this update, responder direction first.
            const upd = pair.log.updates.slice(updates, updates + 2);
            updates += 2;
            const byDir = (d: string) => upd.find((u) => u.direction === d);
            assert.equal(
              toHex(trafficKeys(pair.rsp, 'response')!.key),
              toHex(byDir('Responder')!.key),
            );
            assert.equal(
              toHex(trafficKeys(pair.rsp, 'request')!.key),
              toHex(byDir('Requester')!.key),
            );
          }
          if (pair.update === C.SPDM_KEY_UPDATE_OP.UpdateKey)
            pair.req = updateKey(pair.req, 'request');
          if (pair.update === C.SPDM_KEY_UPDATE_OP.VerifyNewKey)
            pair.req = commitKeyUpdate(pair.req, 'request');
          pair.update = undefined;
        } else if (code === C.SPDM_END_SESSION_ACK) {
          both(pair, closeSession);
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

describe('secured session refusals', () => {
  const schedule: KeyScheduleParams = { version: 0x13, hash: 'sha256', aeadKeySize: 16 };
  const random = seededRandom('refusals');
  const pair = (binding: SecuredBinding) => {
    const secret = new Uint8Array(32).fill(7);
    const th1 = new Uint8Array(32).fill(1);
    const mk = (role: 'requester' | 'responder') =>
      deriveHandshakeKeys(
        openSession({ id: 0x00020001, kind: 'dhe', binding, role, schedule, aead: 'aes-128-gcm' }),
        secret,
        th1,
      );
    const p: { req: SessionState; rsp: ReturnType<typeof mk> } = {
      req: mk('requester'),
      rsp: mk('responder'),
    };
    return p;
  };
  /** The requester's next record, its session moved on. */
  const send = (p: { req: SessionState }, message: Uint8Array) => {
    const r = protect(p.req, message, random);
    p.req = r.session;
    return r.record;
  };
  const spdm = Uint8Array.of(0x13, 0xe8, 0, 0);

  for (const binding of ['pci_doe', 'mctp'] as const) {
    it(`${binding}: a replayed record does not open a second time`, () => {
      const p = pair(binding);
      const rec = send(p, spdm);
      const opened = unprotect(p.rsp, rec);
      assert.equal(toHex(opened.message), toHex(spdm));
      assert.throws(
        () => unprotect(opened.session, rec),
        (e: unknown) =>
          e instanceof SessionError &&
          e.reason === (binding === 'mctp' ? 'sequence' : 'decrypt-failed'),
      );
      // The failed attempt did not move the counter: the next genuine record still opens.
      assert.equal(toHex(unprotect(opened.session, send(p, spdm)).message), toHex(spdm));
    });

    it(`${binding}: reordered records and a flipped bit fail, the id is checked`, () => {
      const p = pair(binding);
      const first = send(p, spdm);
      const second = send(p, spdm);
      assert.throws(() => unprotect(p.rsp, second), SessionError);
      const tampered = first.slice();
      tampered[tampered.length - 20] ^= 1;
      assert.throws(
        () => unprotect(p.rsp, tampered),
        (e: unknown) => e instanceof SessionError && e.reason === 'decrypt-failed',
      );
      const otherId = first.slice();
      otherId[0] ^= 1;
      assert.throws(
        () => unprotect(p.rsp, otherId),
        (e: unknown) => e instanceof SessionError && e.reason === 'unknown-session',
      );
      assert.throws(
        () => unprotect(p.rsp, first.subarray(0, 5)),
        (e: unknown) => e instanceof SessionError && e.reason === 'malformed',
      );
      assert.equal(toHex(unprotect(p.rsp, first).message), toHex(spdm));
    });
  }

  it('a session survives structuredClone: the clone opens and seals as the original', () => {
    const p = pair('mctp');
    const clone = structuredClone(p.rsp);
    const rec = send(p, spdm);
    const a = unprotect(p.rsp, rec);
    const b = unprotect(clone, rec);
    assert.equal(toHex(b.message), toHex(spdm));
    const reply = Uint8Array.of(0x13, 0x68, 0, 0);
    const padding = Uint8Array.of(9, 9);
    assert.equal(
      toHex(protect(b.session, reply, random, { padding }).record),
      toHex(protect(a.session, reply, random, { padding }).record),
    );
  });

  it('KEY_UPDATE: the old key stays usable until verified, then is gone', () => {
    const p = pair('pci_doe');
    const th2 = new Uint8Array(32).fill(2);
    p.req = establishSession(deriveDataKeys(p.req, th2));
    let rsp: SessionState = establishSession(deriveDataKeys(p.rsp, th2));
    // The responder updated, but the requester never saw the ACK: it still uses the old key.
    rsp = updateKey(rsp, 'request');
    assert.ok(hasPendingUpdate(rsp, 'request'));
    const r = unprotect(rsp, send(p, spdm));
    assert.equal(r.rolledBack, 'request');
    rsp = r.session;
    assert.ok(!hasPendingUpdate(rsp, 'request'));
    // Both update; once committed, a record under the old key no longer opens.
    rsp = updateKey(rsp, 'request');
    const oldKeyRecord = send(p, spdm);
    p.req = updateKey(p.req, 'request', false);
    const opened = unprotect(rsp, send(p, spdm));
    assert.equal(toHex(opened.message), toHex(spdm));
    assert.ok(hasPendingUpdate(opened.session, 'request'));
    rsp = commitKeyUpdate(opened.session, 'request');
    assert.ok(!hasPendingUpdate(rsp, 'request'));
    assert.throws(() => unprotect(rsp, oldKeyRecord), SessionError);
  });

  it('closeSession wipes the secrets and refuses everything', () => {
    const p = pair('pci_doe');
    const hs = p.rsp.handshake;
    const ended = closeSession(p.rsp);
    assert.equal(ended.phase, 'ended');
    assert.ok(hs.request.key.every((b) => b === 0));
    assert.ok(hs.handshakeSecret.every((b) => b === 0));
    assert.throws(() => protect(ended, spdm, random), RangeError);
    assert.throws(
      () => unprotect(ended, send(p, spdm)),
      (e: unknown) => e instanceof SessionError && e.reason === 'not-ready',
    );
  });

  it('the key switch happens only on establishSession, after FINISH_RSP is sealed', () => {
    const p = pair('mctp');
    const th2 = new Uint8Array(32).fill(3);
    const finishRsp = protect(deriveDataKeys(p.rsp, th2), Uint8Array.of(0x13, 0x65, 0, 0), random);
    const rsp = establishSession(finishRsp.session);
    const opened = unprotect(deriveDataKeys(p.req, th2), finishRsp.record);
    assert.equal(toHex(opened.message), '13650000');
    p.req = establishSession(opened.session);
    assert.deepEqual(sessionSequence(rsp), {
      requestHandshake: 0,
      responseHandshake: 1,
      requestData: 0,
      responseData: 0,
    });
    assert.equal(toHex(unprotect(rsp, send(p, spdm)).message), toHex(spdm));
  });
});
