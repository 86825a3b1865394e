/**
 * teeio's requester and TSM clients against the composed TDISP device in-process, through
 * the DOE mailbox transport: every object crosses function 0's DOE registers as real
 * config-space reads and writes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import { gpu, nic, nvme } from '../../../src/device/profiles/index.ts';
import { doeDiscovery } from '../../../src/transport/doe-discovery.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';
import { enumerate } from '../dsm/harness.ts';
import { runLifecycle } from './flow.ts';

describe('composed TDISP device over the DOE mailbox', () => {
  it('answers DOE Discovery through the mailbox: Discovery, SPDM, secured SPDM', async () => {
    const dev = await createTdispDevice({ profile: nvme, random: seededRandom('disc') });
    const list = await doeDiscovery(dev.doeTransport());
    assert.deepEqual(
      list.map((d) => [d.vendorId, d.dataObjectType]),
      [
        [1, 0],
        [1, 1],
        [1, 2],
      ],
    );
  });

  for (const profile of [nic, gpu, nvme]) {
    it(`runs the whole lifecycle on the ${profile.name} profile`, async () => {
      const dev = await createTdispDevice({ profile, random: seededRandom(`doe-${profile.name}`) });
      const addresses = enumerate(dev.device);
      assert.ok(dev.tdis().length > 0);
      await runLifecycle({ transport: dev.doeTransport(), dev, addresses });
    });
  }

  it('runs it with DOE Busy showing for several Status reads', async () => {
    const profile = { ...nvme, dsm: { ...nvme.dsm!, doe: { busyPolls: 5 } } };
    const dev = await createTdispDevice({ profile, random: seededRandom('busy') });
    const addresses = enumerate(dev.device);
    await runLifecycle({ transport: dev.doeTransport(), dev, addresses });
  });

  it('answers a malformed DOE object with DOE Error, and keeps serving', async () => {
    const dev = await createTdispDevice({ profile: nvme, random: seededRandom('bad') });
    const t = dev.doeTransport();
    // Vendor 0x1234 type 7: not PCI-SIG SPDM.
    const bad = Uint8Array.of(0x34, 0x12, 7, 0, 3, 0, 0, 0, 0, 0, 0, 0);
    await assert.rejects(t.exchangeRaw!(bad), { code: 'device-error' });
    assert.equal((await doeDiscovery(t)).length, 3);
  });
});
