/** The SNP guest's devsec TSM, attester and driver over SEV-TIO; a host that unmaps under it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { driverBind, nicRead, nicWrite } from '../../src/guest/driver/nic.ts';
import { guestWorld, VDEV_ID } from './guest-world.ts';
import { done, guestSuite, policyOf, toRun } from './suite.ts';

guestSuite('sev');

describe('sev guest: the host pulls the TDI away', () => {
  it('an unmap under the running guest fences its ASID: reads all ones, writes dropped', async () => {
    const seed = 'guest sev';
    const w = await guestWorld('sev', seed);
    await toRun(w, await policyOf('sev', seed));
    done(driverBind(w.g, VDEV_ID));
    const u = await w.D.unmapPrivateMmio(w.m, w.h, { vm: w.kvmVm, gfn: w.mapped[1] });
    assert.equal(u.ok, true, 'SEV lets the host unmap, and fences');
    const seen = done(nicRead(w.gm, w.g, VDEV_ID, 0, 0));
    assert.deepEqual(seen.kind === 'all-ones' && [...(seen.data ?? [])], [0xff, 0xff, 0xff, 0xff]);
    assert.equal(done(nicWrite(w.gm, w.g, VDEV_ID, 0, 0x40, new Uint8Array(4))).kind, 'all-ones');
  });
});
