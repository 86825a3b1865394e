/** The TD's devsec TSM, attester and driver over TDX Connect; a host that stops the TDI under it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { driverBind, nicRead } from '../../src/guest/driver/nic.ts';
import { pciTsmStop } from '../../src/host/pci-tsm/core.ts';
import { guestWorld, VDEV_ID } from './guest-world.ts';
import { done, guestSuite, policyOf, toRun } from './suite.ts';

guestSuite('tdx');

describe('tdx guest: the host pulls the TDI away', () => {
  it('the module refuses the unmap; after a host STOP the TD access faults', async () => {
    const seed = 'guest tdx';
    const w = await guestWorld('tdx', seed);
    await toRun(w, await policyOf('tdx', seed));
    done(driverBind(w.g, VDEV_ID));
    const u = await w.D.unmapPrivateMmio(w.m, w.h, { vm: w.kvmVm, gfn: w.mapped[0] });
    assert.equal(u.ok, false, 'TDX refuses to unmap under a running TD');
    assert.equal(done(nicRead(w.gm, w.g, VDEV_ID, 0, 0)).kind, 'ok');
    const s = await pciTsmStop(w.m, w.h, { rid: w.rid });
    assert.equal(s.ok, true);
    const seen = done(nicRead(w.gm, w.g, VDEV_ID, 0, 0));
    assert.equal(seen.kind, 'faulted');
    assert.equal(seen.kind === 'faulted' && seen.reason, 'tdi-not-run');
  });
});
