/** The Realm's devsec TSM, attester and driver over CCA RSI; a host that unmaps under it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attestAndAccept } from '../../src/guest/attester.ts';
import { driverBind, nicRead } from '../../src/guest/driver/nic.ts';
import { tsmLock } from '../../src/guest/tsm/core.ts';
import type { CcaPlatform } from '../../src/platform/cca/rmi-pdev.ts';
import { guestWorld, hostVmm, VDEV_ID } from './guest-world.ts';
import { checks, done, guestSuite, policyOf, toRun } from './suite.ts';

guestSuite('cca');

describe('cca guest: a host that lies or pulls the TDI away', () => {
  it('a report the host alters on its way to the Realm is refused: not the one report_digest names', async () => {
    const seed = 'guest cca';
    const policy = await policyOf('cca', seed);
    const w = await guestWorld('cca', seed, {
      vmm: async (w, call) => {
        const r = await hostVmm(w, call);
        const data = r.ok ? (r.value as { data?: Uint8Array } | undefined)?.data : undefined;
        if (data) {
          const forged = data.slice();
          forged[forged.length - 1] ^= 1;
          return { ok: true, value: { data: forged } };
        }
        return r;
      },
    });
    done(await tsmLock(w.gm, w.g, VDEV_ID));
    const o = await attestAndAccept(w.gm, w.g, VDEV_ID, policy);
    assert.ok(checks(o).includes('report'));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
  });

  it('an unmap under the running Realm destroys the IPA: the next access kills the Realm', async () => {
    const seed = 'guest cca';
    const w = await guestWorld('cca', seed);
    await toRun(w, await policyOf('cca', seed));
    done(driverBind(w.g, VDEV_ID));
    const u = await w.D.unmapPrivateMmio(w.m, w.h, { vm: w.kvmVm, gfn: w.mapped[0] });
    assert.equal(u.ok, true);
    assert.deepEqual(done(nicRead(w.gm, w.g, VDEV_ID, 0, 0)), { kind: 'realm-killed' });
    assert.ok((w.p as CcaPlatform).vendor.realms.get(w.vm)?.dead, 'the RMM recorded the abort');
    assert.deepEqual(done(nicRead(w.gm, w.g, VDEV_ID, 0, 0x1000)), { kind: 'realm-killed' });
  });
});
