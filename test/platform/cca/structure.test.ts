/**
 * The CCA-like flavour's structure: the host ABI holds only RMI commands and the guest ABI
 * only RSI commands, neither module exports the other side's calls, each call's event names
 * its trust domain, and a running world is plain data (clones and hashes as such).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as guest from '../../../src/platform/cca/guest-abi.ts';
import * as host from '../../../src/platform/cca/host-abi.ts';
import { ccaFlavour } from '../../../src/platform/cca/index.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { G, H, ok, pdevReady, vdevLockedReported, vdevUnlocked, world } from './world.ts';

describe('CCA-like flavour: structure', () => {
  it('the host table is RMI only, the guest table RSI only, and they share no call', () => {
    const h = Object.entries(ccaFlavour.host);
    const g = Object.entries(ccaFlavour.guest);
    assert.ok(h.length >= 19 && g.length >= 4);
    for (const [name] of h) assert.match(name, /^RMI_/);
    for (const [name] of g) assert.match(name, /^RSI_/);
    const hostFns = new Set(h.map(([, f]) => f));
    for (const [name, f] of g) assert.equal(hostFns.has(f as never), false, name);
    for (const [name, v] of Object.entries(guest)) {
      assert.equal(hostFns.has(v as never), false, `guest-abi exports host call ${name}`);
    }
    const guestFns = new Set(g.map(([, f]) => f));
    for (const [name, v] of Object.entries(host)) {
      assert.equal(guestFns.has(v as never), false, `host-abi exports guest call ${name}`);
    }
  });

  it('each call is one event with its real name, domain and status', async () => {
    const w = await world('structure events');
    const c = H.RMI_PDEV_CREATE(w.p, w.env, { pdev: w.pdev });
    assert.deepEqual(c.events, [
      {
        kind: 'abi',
        domain: 'host',
        flavour: 'cca',
        call: 'RMI_PDEV_CREATE',
        args: { pdev: w.pdev, rid_base: 0, rid_top: 256, hash_algo: 'RMI_HASH_SHA_256' },
        status: 'RMI_SUCCESS',
        ok: true,
      },
    ]);
    const i = G.RSI_VDEV_GET_INFO(w.p, w.env, { realm: 'r', vdevId: 1n });
    assert.equal(i.events.length, 1);
    assert.equal(i.events[0].domain, 'guest');
    assert.equal(i.events[0].status, 'RSI_ERROR_STATE');
    assert.equal(i.events[0].ok, false);
  });

  it('a world with a locked, reported VDEV clones as plain data', async () => {
    const w = await world('structure clone');
    await pdevReady(w);
    await vdevUnlocked(w);
    await vdevLockedReported(w);
    const h = canonicalHash(w.p);
    const copy = structuredClone(w.p);
    assert.equal(canonicalHash(copy), h);
    await ok(H.RMI_VDEV_START(w.p, w.env, { rd: w.rd, pdev: w.pdev, vdev: w.tdi.requesterId }));
    assert.notEqual(canonicalHash(w.p), h);
    assert.equal(canonicalHash(copy), h, 'the clone is independent');
  });
});
