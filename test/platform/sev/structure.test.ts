/**
 * The SEV-TIO flavour's trust boundary is structural: the guest ABI module exports no host
 * command and the host ABI module no guest request; the tables by name hold exactly the
 * calls of their side; the flavour object creates plain data that survives structuredClone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as guestAbi from '../../../src/platform/sev/guest-abi.ts';
import * as hostAbi from '../../../src/platform/sev/host-abi.ts';
import { SEV_GUEST_ABI, SEV_HOST_ABI, sevFlavour } from '../../../src/platform/sev/index.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { running } from './flow.ts';
import { sevWorld } from './world.ts';

const functions = (m: object) =>
  new Set(Object.values(m).filter((v): v is (...a: never[]) => unknown => typeof v === 'function'));

describe('SEV-TIO: host and guest ABI are separate modules', () => {
  it("each table holds only its own module's calls", () => {
    const host = functions(hostAbi);
    const guest = functions(guestAbi);
    for (const [name, f] of Object.entries(SEV_HOST_ABI)) {
      assert.ok(host.has(f), `${name} is a host-abi export`);
      assert.ok(!guest.has(f), `${name} is not a guest-abi export`);
    }
    for (const [name, f] of Object.entries(SEV_GUEST_ABI)) {
      assert.ok(guest.has(f), `${name} is a guest-abi export`);
      assert.ok(!host.has(f), `${name} is not a host-abi export`);
    }
    assert.deepEqual(Object.keys(SEV_GUEST_ABI).sort(), [
      'PVALIDATE',
      'SNP_SECRETS_PAGE',
      'TIO_MSG_MMIO_VALIDATE_REQ',
      'TIO_MSG_SDTE_WRITE_REQ',
      'TIO_MSG_TDI_INFO_REQ',
    ]);
  });

  it('a running world clones and hashes as plain data', async () => {
    const w = await sevWorld('structure clone');
    w.p.vendor = sevFlavour.create();
    await running(w);
    const copy = structuredClone(w.p);
    assert.equal(canonicalHash(copy), canonicalHash(w.p));
    assert.deepEqual(copy.vendor.tdis.get(w.rid)?.sdte, w.p.vendor.tdis.get(w.rid)?.sdte);
  });
});
