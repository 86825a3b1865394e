/**
 * Random sequences of what a host and a TD do with one TDI on TDX (bind, stop, unbind,
 * private MMIO map and unmap, trusted DMA, the TD's validation, requests and accepts, the
 * host's relay), through the PCI/TSM core and the TDX host driver. After every host
 * operation:
 *  - a refused one changed nothing, the secure EPT and trusted IOMMU included (the relay
 *    excepted: once carried, the TD's answer waits for it whatever the device said);
 *  - the driver's records agree with the module's: the DEVIF and its TD, locked exactly
 *    while the TDI is CONFIG_LOCKED or RUN, trusted DMA exactly while a context exists, the
 *    private MMIO it believes mapped, and the MMIO metadata table;
 *  - an unmap that succeeded found the TDI neither CONFIG_LOCKED nor RUN.
 * Then the host tears down in TDX's order and nothing private of the TDI remains.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { HostOutcome } from '../../../src/host/outcome.ts';
import { pciTsmBind, pciTsmStop, pciTsmUnbind } from '../../../src/host/pci-tsm/core.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { pfnValues } from '../../../src/platform/pfn-table.ts';
import { devInfoHash } from '../../platform/tdx/world.ts';
import { ok } from '../world.ts';
import {
  connectedTd,
  D,
  everything,
  guestReq,
  MMIO_GFN,
  records,
  TD,
  type TdxWorld,
  tdcall,
  tdxWorld,
  toRun,
  VDEV_ID,
} from './tdx-world.ts';

const TDS = [TD, 'td2'];
const REQUESTS = [
  ['GET_DEVICE_INTERFACE_REPORT', 'info'],
  ['GET_DEVICE_INTERFACE_STATE', 'info'],
  ['START_INTERFACE_REQUEST', 'state-change'],
] as const;

type Cmd =
  | { k: 'bind'; td: number }
  | { k: 'stop' }
  | { k: 'unbind' }
  | { k: 'map'; td: number; page: number; slot: number }
  | { k: 'unmap'; td: number; slot: number }
  | { k: 'dma' }
  | { k: 'relay'; request: number }
  | { k: 'validate'; td: number }
  | { k: 'ask'; td: number; request: number }
  | { k: 'read'; td: number }
  | { k: 'accept'; td: number; page: number; slot: number }
  | { k: 'dma-accept'; td: number };

const td = fc.integer({ min: 0, max: 1 });
const page = fc.integer({ min: 0, max: 2 });
const slot = fc.integer({ min: 0, max: 1 });
const request = fc.integer({ min: 0, max: 2 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ k: fc.constant('bind' as const), td }),
  fc.constant({ k: 'stop' as const }),
  fc.constant({ k: 'unbind' as const }),
  fc.record({ k: fc.constant('map' as const), td, page, slot }),
  fc.record({ k: fc.constant('unmap' as const), td, slot }),
  fc.constant({ k: 'dma' as const }),
  fc.record({ k: fc.constant('relay' as const), request }),
  fc.record({ k: fc.constant('validate' as const), td }),
  fc.record({ k: fc.constant('ask' as const), td, request }),
  fc.record({ k: fc.constant('read' as const), td }),
  fc.record({ k: fc.constant('accept' as const), td, page, slot }),
  fc.record({ k: fc.constant('dma-accept' as const), td }),
);

/** Host frame of TEE page `i` of the TDI: the report's when there is one, else BAR 0's. */
function pfnOf(w: TdxWorld, i: number): bigint {
  const tee = (w.p.tsm.tdis.get(w.rid)?.report?.ranges ?? []).filter((r) => !r.nonTee);
  if (tee.length > 0) return (tee[0].base >> PAGE_SHIFT) + BigInt(i % tee[0].pages);
  const bar0 = w.m.barAddress(w.rid, 0);
  assert.ok(bar0);
  return (bar0.base >> PAGE_SHIFT) + BigInt(i);
}

/** A host operation's outcome, or undefined for the TD's own calls. */
async function run(w: TdxWorld, c: Cmd): Promise<HostOutcome<unknown> | undefined> {
  const { m, h, rid } = w;
  switch (c.k) {
    case 'bind':
      return pciTsmBind(m, h, { rid, vm: TDS[c.td], vdevId: VDEV_ID });
    case 'stop':
      return pciTsmStop(m, h, { rid });
    case 'unbind':
      return pciTsmUnbind(m, h, { rid });
    case 'map':
      return D.mapPrivateMmio(m, h, {
        vm: TDS[c.td],
        gfn: MMIO_GFN + BigInt(c.slot),
        pfn: pfnOf(w, c.page),
        rid,
      });
    case 'unmap':
      return D.unmapPrivateMmio(m, h, { vm: TDS[c.td], gfn: MMIO_GFN + BigInt(c.slot) });
    case 'dma':
      return D.enableTrustedDma(m, h, { rid });
    case 'relay': {
      const [name, scope] = REQUESTS[c.request];
      const vm = h.pciTsm.devices.get(w.dsm)?.bound.get(rid)?.vm ?? TD;
      return guestReq(w, { scope, message: { name } }, vm);
    }
    case 'validate':
      await tdcall(w, 'TDG.DEVIF.VALIDATE', { devInfoHash: devInfoHash(w.dev) }, TDS[c.td]);
      return undefined;
    case 'ask':
      await tdcall(w, 'TDG.DEVIF.REQUEST', { request: REQUESTS[c.request][0] }, TDS[c.td]);
      return undefined;
    case 'read':
      await tdcall(w, 'TDG.DEVIF.RESPONSE', {}, TDS[c.td]);
      return undefined;
    case 'accept': {
      const tee = (w.p.tsm.tdis.get(rid)?.report?.ranges ?? []).filter((r) => !r.nonTee);
      const args = {
        gfn: MMIO_GFN + BigInt(c.slot),
        rangeId: tee[0]?.rangeId ?? 0,
        pageOffset: tee.length > 0 ? c.page % tee[0].pages : c.page,
      };
      await tdcall(w, 'TDG.MMIO.ACCEPT', args, TDS[c.td]);
      return undefined;
    }
    case 'dma-accept':
      await tdcall(w, 'TDG.DMAR.ACCEPT', {}, TDS[c.td]);
      return undefined;
  }
}

const locked = (state: string | undefined) => state === 'CONFIG_LOCKED' || state === 'RUN';

/** The driver's records and the module's agree. */
function agree(w: TdxWorld, why: string): void {
  const recs = records(w);
  const devif = recs?.devifs.get(w.rid);
  const fw = w.p.vendor.devifs.get(w.rid);
  const tdi = w.p.tsm.tdis.get(w.rid);
  assert.equal(devif?.td, fw?.td, `${why}: DEVIF`);
  if (devif) {
    assert.equal(devif.tdisp === 'locked', locked(tdi?.state), `${why}: ${tdi?.state}`);
    assert.equal(devif.dma, w.p.hw.iommu.secure.has(w.rid), `${why}: trusted DMA`);
  }
  for (const vm of TDS) {
    const mine = [...(recs?.mmio.get(vm) ?? new Map())].map(([g, r]) => `${g}:${r.pfn}`);
    const theirs = pfnValues(w.p.hw.septs.get(vm)?.entries ?? {}).length;
    const fwMmio =
      tdi?.vm === vm ? [...tdi.mmio].map(([g, pfn]) => `${BigInt(g)}:${BigInt(pfn)}`) : [];
    assert.deepEqual(mine.sort(), fwMmio.sort(), `${why}: private MMIO of ${vm}`);
    // The TD's image (3 pages) is all else its secure EPT holds.
    if (vm === TD) assert.equal(theirs, 3 + mine.length, `${why}: ${vm}'s secure EPT`);
  }
  const table = [...(recs?.mmiomt ?? new Map())].map(([pfn, rid]) => `${pfn}:${rid}`);
  const fwTable = [...w.p.vendor.mmiomt.values()].map((e) => `${e.pfn}:${e.devif}`);
  assert.deepEqual(table.sort(), fwTable.sort(), `${why}: MMIO metadata table`);
}

/** Bound to the TD, validated, the report relayed and read: where maps and accepts succeed. */
const PREPARED: Cmd[] = [
  { k: 'bind', td: 0 },
  { k: 'validate', td: 0 },
  { k: 'ask', td: 0, request: 0 },
  { k: 'relay', request: 0 },
  { k: 'read', td: 0 },
];

/** And two pages mapped and accepted: where stops, unmaps and unbinds have work to do. */
const MAPPED: Cmd[] = [
  ...PREPARED,
  ...[0, 1].flatMap((i): Cmd[] => [
    { k: 'map', td: 0, page: i, slot: i },
    { k: 'accept', td: 0, page: i, slot: i },
  ]),
];

/** And stopped: the pages may be unmapped now, and the TD must validate again. */
const STOPPED: Cmd[] = [...MAPPED, { k: 'stop' }];

describe('TDX host driver: random host and TD sequences', () => {
  it('refusals change nothing, the driver agrees with the module, unmaps never under a locked TDI', async () => {
    // What the runs reached, so the property is known to exercise more than refusals.
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2, 3, 4),
        fc.array(cmd, { minLength: 5, maxLength: 25 }),
        async (prepared, random) => {
          const w = await tdxWorld('tdx driver property');
          const { m, h, rid } = w;
          await connectedTd(w);
          ok(await D.vmCreate(m, h, 'td2'));
          ok(await D.vmFinalize(m, h, 'td2'));
          // The last start: the TDI running, every TEE page mapped and accepted.
          if (prepared === 4) await toRun(w);
          const cmds = [...([[], PREPARED, MAPPED, STOPPED][prepared] ?? []), ...random];
          for (const [i, c] of cmds.entries()) {
            const before = everything(w);
            const state = w.p.tsm.tdis.get(rid)?.state;
            const o = await run(w, c);
            const why = `step ${i} ${JSON.stringify(c)}${o && !o.ok ? ` -> ${o.errno} ${o.detail}` : ''}`;
            if (o && !o.ok && c.k !== 'relay') {
              assert.equal(everything(w), before, `${why}: a refusal changed records`);
            }
            if (o?.ok && c.k === 'unmap')
              assert.ok(!locked(state), `${why}: unmapped under ${state}`);
            agree(w, why);
            if (o?.ok) seen.add(c.k);
            seen.add(w.p.tsm.tdis.get(rid)?.state ?? 'none');
          }
          // TDX's teardown: stop, KVM unmaps, unbind.
          if (records(w)?.devifs.has(rid)) {
            ok(await pciTsmStop(m, h, { rid }));
            for (const [vm, pages] of records(w).mmio) {
              for (const gfn of [...pages.keys()]) {
                ok(await D.unmapPrivateMmio(m, h, { vm, gfn }));
                agree(w, `teardown unmap ${vm} 0x${gfn.toString(16)}`);
              }
            }
            ok(await pciTsmUnbind(m, h, { rid }));
          }
          agree(w, 'after teardown');
          assert.equal(w.p.tsm.tdis.has(rid), false);
          assert.equal(w.p.hw.iommu.secure.has(rid), false);
          for (const sept of w.p.hw.septs.values()) {
            for (const e of pfnValues(sept.entries)) assert.notEqual(e.target.kind, 'mmio');
          }
        },
      ),
      { numRuns: 40, seed: 0x7d6 },
    );
    for (const reached of ['map', 'unmap', 'dma', 'stop', 'unbind', 'CONFIG_LOCKED', 'RUN']) {
      assert.ok(seen.has(reached), `no run reached ${reached}: ${[...seen]}`);
    }
  });
});
