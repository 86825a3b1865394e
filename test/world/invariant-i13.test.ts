/**
 * Invariant I13 (SYSTEM.md section 5; CVE-2023-31127): a session KEY_EXCHANGE opened is
 * established only by FINISH, a PSK session only by PSK_FINISH (or PSK_EXCHANGE alone). The
 * untrusted host opens its own SPDM session on the device's DOE mailbox (host.doe/spdm) and
 * sends PSK_FINISH inside it: the faithful device refuses it and I13 holds; with the seeded
 * flaw 'responder-psk-finish-in-key-exchange' the device establishes the session and I13
 * names it. The op is safe whatever the world's state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkInvariants, type StepEvent } from '../../src/world/invariants.ts';
import { HOST_DOE_MESSAGES } from '../../src/world/ops/host-doe.ts';
import { World } from '../../src/world/world.ts';

const attack = { do: 'host.doe/spdm', args: { message: 'psk-finish-in-key-exchange' } };

async function step(w: World, s: { do: string; args?: Record<string, string> }) {
  const r = await w.perform(s);
  return { r, violations: checkInvariants(w.view(), r.events) };
}

describe('I13: a session is finished by the request of its kind', () => {
  it("the faithful device refuses PSK_FINISH in the host's KEY_EXCHANGE session; I13 holds", async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'i13' });
    const { r, violations } = await step(w, attack);
    assert.equal(r.ok, true, r.detail);
    // The device claims no PSK_CAP: UnsupportedRequest (with PSK_CAP it would be
    // UnexpectedRequest, test/spdm/responder-negative.test.ts).
    assert.match(String(r.value), /^ERROR Un(supported|expected)Request$/);
    assert.deepEqual(violations, []);
    // A well-formed session afterwards: FINISH establishes it, I13 sees it and holds.
    const ok = await step(w, { do: 'host.doe/spdm', args: { message: 'session' } });
    assert.equal(ok.r.ok, true, ok.r.detail);
    const established = ok.r.events.filter((e) => e.kind === 'SPDM_SESSION_ESTABLISHED');
    assert.equal(established.length, 1);
    assert.equal((established[0] as StepEvent & { establishedBy: string }).establishedBy, 'FINISH');
    assert.deepEqual(ok.violations, []);
  });

  it('with responder-psk-finish-in-key-exchange the session is established and I13 breaks', async () => {
    const w = await World.create({
      flavour: 'tdx',
      seed: 'i13',
      flaws: ['responder-psk-finish-in-key-exchange'],
    });
    const { r, violations } = await step(w, attack);
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.value, 'PSK_FINISH_RSP');
    assert.deepEqual(
      violations.map((v) => [v.invariant, v.component]),
      [['I13', 'spdm']],
    );
    assert.match(violations[0].detail, /opened by KEY_EXCHANGE, established by PSK_FINISH/);
    // The flaw changes nothing else: an honest session still holds I13.
    const ok = await step(w, { do: 'host.doe/spdm', args: { message: 'session' } });
    assert.deepEqual(ok.violations, []);
  });

  it('every candidate of host.doe/spdm runs in a fresh world and after the TSM connected', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'i13-candidates' });
    const op = 'host.doe/spdm';
    const steps = HOST_DOE_MESSAGES.map((message) => ({ do: op, args: { message } }));
    for (const s of steps) {
      const { r, violations } = await step(w, s);
      assert.equal(typeof r.ok, 'boolean');
      assert.deepEqual(violations, [], s.args.message);
    }
    await w.perform({ do: 'host.tsm/connect' });
    for (const s of steps) {
      const { violations } = await step(w, s);
      assert.deepEqual(violations, [], s.args.message);
    }
    const bad = await w.perform({ do: op, args: { message: 'nonsense' } });
    assert.equal(bad.errno, 'EINVAL');
  });
});
