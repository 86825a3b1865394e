/**
 * The machine the host runs on: each flavour's host ABI by real name, config cycles and BAR
 * addresses of the functions enumeration found, and T=0 MMIO through the fabric; nothing else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLAVOURS, type FlavourName } from '../../src/platform/flavours.ts';
import { hostWorld } from './world.ts';

describe('host machine', () => {
  for (const flavour of Object.keys(FLAVOURS) as FlavourName[]) {
    it(`${flavour}: config space, BARs and the host ABI by name`, async () => {
      const { m, dsm, rid } = await hostWorld(flavour);
      assert.equal(m.flavour, flavour);
      assert.ok(m.functions().includes(dsm) && m.functions().includes(rid));
      // Vendor and device id of function 0, as a config read returns them.
      const id = m.configRead(dsm, 0, 4);
      assert.notEqual(id & 0xffff, 0xffff);
      const bar0 = m.barAddress(rid, 0);
      assert.ok(bar0 && bar0.size > 0n);
      // A T=0 read of a shared BAR succeeds through the fabric.
      const r = m.mmioRead(bar0.base, 4);
      assert.equal(r.result.status, 'SC');
      await assert.rejects(m.firmware('NO_SUCH_CALL', {}), /no host ABI call 'NO_SUCH_CALL'/);
      await assert.rejects(
        m.firmware(Object.keys(FLAVOURS[flavour].host)[0], {}, 0xdead),
        /no DOE mailbox/,
      );
    });
  }
});
