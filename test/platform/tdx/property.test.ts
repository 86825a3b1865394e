/**
 * Random sequences of the TDX flavour's host and guest calls, in any order and by either TD,
 * against teeio's NIC on the platform's fabric (plus the host's one out-of-band move, an
 * ERROR trigger in the TDI's config space). After every call:
 *  - a refused call changed nothing (TDH.DEVIF.RESPONSE and TDG.DEVIF.RESPONSE excepted:
 *    they consume the exchange whatever it answered);
 *  - every private MMIO entry of a secure EPT belongs to a TDI bound to that TD, is in the
 *    TDI's record, and lies in a TEE range of its report while the TDI has one (without a
 *    report the TDI is not RUN, so the entry carries no T=1 traffic);
 *  - a host page has one owner: at most one secure-EPT entry maps it;
 *  - a trusted DMA context exists only for a TDI bound to the context's TD;
 *  - the DEVIF records and the core's bindings agree.
 * Then the host unbinds, TDX order, and nothing private of the TDI remains.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as regs from '../../../src/device/pci/regs.ts';
import type { AbiOutcome } from '../../../src/platform/abi.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { pfnEntries, pfnValues } from '../../../src/platform/pfn-table.ts';
import {
  tdgDevifRequest,
  tdgDevifResponse,
  tdgDevifValidate,
  tdgDmarAccept,
  tdgMmioAccept,
} from '../../../src/platform/tdx/guest-abi.ts';
import {
  tdhDevifCreate,
  tdhDevifRemove,
  tdhDevifRequest,
  tdhDevifResponse,
  tdhIdeStreamBlock,
  tdhIdeStreamCreate,
  tdhMngCreate,
  tdhMrFinalize,
  tdhSpdmConnect,
  tdhSpdmCreate,
} from '../../../src/platform/tdx/host-abi.ts';
import {
  tdhDmarAdd,
  tdhDmarBlock,
  tdhDmarRemove,
  tdhMemTrack,
  tdhMmioBlock,
  tdhMmioMap,
  tdhMmiomtAdd,
  tdhMmiomtSet,
  tdhMmioUnmap,
} from '../../../src/platform/tdx/host-mappings.ts';
import type { TdispRequestName, TdxPlatform } from '../../../src/platform/tdx/state.ts';
import { inTeeRange } from '../../../src/platform/tsm/private-mmio.ts';
import { assertMmioIndex } from '../sept-index.ts';
import { devInfoHash, recordsHash, STREAM, type TdxWorld, tdxWorld } from './world.ts';

const TDS = ['td1', 'td2'] as const;
const REQUESTS: TdispRequestName[] = [
  'LOCK_INTERFACE_REQUEST',
  'GET_DEVICE_INTERFACE_STATE',
  'STOP_INTERFACE_REQUEST',
  'GET_DEVICE_INTERFACE_REPORT',
  'START_INTERFACE_REQUEST',
];
const GFNS = [0x300n, 0x301n, 0x302n];

type Cmd =
  | { k: 'devif-create'; td: number }
  | { k: 'validate'; td: number }
  | { k: 'host-request'; request: number }
  | { k: 'td-request'; td: number; request: number }
  | { k: 'carry' }
  | { k: 'response' }
  | { k: 'td-response'; td: number }
  | { k: 'mmiomt-add'; page: number }
  | { k: 'mmiomt-set'; page: number }
  | { k: 'map'; td: number; gfn: number; page: number }
  | { k: 'accept'; td: number; gfn: number; offset: number }
  | { k: 'block'; td: number; gfn: number }
  | { k: 'track'; td: number }
  | { k: 'unmap'; td: number; gfn: number }
  | { k: 'dmar-add' }
  | { k: 'dmar-accept'; td: number }
  | { k: 'dmar-block' }
  | { k: 'dmar-remove' }
  | { k: 'devif-remove' }
  | { k: 'stream-block' }
  | { k: 'error-trigger' };

const td = fc.integer({ min: 0, max: 1 });
const gfn = fc.integer({ min: 0, max: GFNS.length - 1 });
const page = fc.integer({ min: 0, max: 2 });
const rec = <C extends Cmd>(weight: number, r: fc.Arbitrary<C>) => ({ weight, arbitrary: r });
const k = <K extends Cmd['k']>(name: K) => fc.constant(name);
const request = fc.integer({ min: 0, max: 4 });
/** Mapping calls weigh more: they are what the invariants are about. */
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  rec(1, fc.record({ k: k('devif-create'), td })),
  rec(1, fc.record({ k: k('validate'), td })),
  rec(2, fc.record({ k: k('host-request'), request })),
  rec(2, fc.record({ k: k('td-request'), td, request })),
  rec(1, fc.record({ k: k('carry') })),
  rec(2, fc.record({ k: k('response') })),
  rec(1, fc.record({ k: k('td-response'), td })),
  rec(1, fc.record({ k: k('mmiomt-add'), page })),
  rec(1, fc.record({ k: k('mmiomt-set'), page })),
  rec(4, fc.record({ k: k('map'), td, gfn, page })),
  rec(3, fc.record({ k: k('accept'), td, gfn, offset: fc.integer({ min: 0, max: 1 }) })),
  rec(3, fc.record({ k: k('block'), td, gfn })),
  rec(2, fc.record({ k: k('track'), td })),
  rec(3, fc.record({ k: k('unmap'), td, gfn })),
  rec(2, fc.record({ k: k('dmar-add') })),
  rec(1, fc.record({ k: k('dmar-accept'), td })),
  rec(1, fc.record({ k: k('dmar-block') })),
  rec(1, fc.record({ k: k('dmar-remove') })),
  rec(1, fc.record({ k: k('devif-remove') })),
  rec(1, fc.record({ k: k('stream-block') })),
  rec(1, fc.record({ k: k('error-trigger') })),
);

/** The candidate BAR pages: the TDI's first two BAR pages and one far outside every BAR. */
function pages(w: TdxWorld): bigint[] {
  const bar = w.tdi.bars[0];
  const first = bar.address >> PAGE_SHIFT;
  return [first, first + 1n, (bar.address + bar.size + (1n << 30n)) >> PAGE_SHIFT];
}

async function run(w: TdxWorld, c: Cmd): Promise<AbiOutcome<unknown>> {
  const { p, env, carrier, functionId, device } = w;
  const T = (i: number) => TDS[i];
  const G = (i: number) => GFNS[i];
  switch (c.k) {
    case 'devif-create':
      return tdhDevifCreate(p, env, { functionId, device, td: T(c.td) });
    case 'validate':
      return tdgDevifValidate(p, env, { td: T(c.td), functionId, devInfoHash: devInfoHash(w.dev) });
    case 'host-request': {
      const request = REQUESTS[c.request];
      const noFwUpdate = request === 'LOCK_INTERFACE_REQUEST';
      return tdhDevifRequest(p, env, { functionId, request, noFwUpdate });
    }
    case 'td-request':
      return tdgDevifRequest(p, env, { td: T(c.td), functionId, request: REQUESTS[c.request] });
    case 'carry':
      return tdhDevifRequest(p, env, { functionId, td: true });
    case 'response':
      return tdhDevifResponse(p, env, { functionId }, carrier);
    case 'td-response':
      return tdgDevifResponse(p, env, { td: T(c.td), functionId });
    case 'mmiomt-add':
      return tdhMmiomtAdd(p, env, { pfn: pages(w)[c.page] });
    case 'mmiomt-set':
      return tdhMmiomtSet(p, env, { pfn: pages(w)[c.page], functionId });
    case 'map':
      return tdhMmioMap(p, env, { td: T(c.td), gfn: G(c.gfn), pfn: pages(w)[c.page] });
    case 'accept': {
      const rangeId = w.tdi.bars[0].index;
      return tdgMmioAccept(p, env, {
        td: T(c.td),
        functionId,
        gfn: G(c.gfn),
        rangeId,
        pageOffset: c.offset,
      });
    }
    case 'block':
      return tdhMmioBlock(p, env, { td: T(c.td), gfn: G(c.gfn) });
    case 'track':
      return tdhMemTrack(p, env, { td: T(c.td) });
    case 'unmap':
      return tdhMmioUnmap(p, env, { td: T(c.td), gfn: G(c.gfn) });
    case 'dmar-add':
      return tdhDmarAdd(p, env, { functionId });
    case 'dmar-accept':
      return tdgDmarAccept(p, env, { td: T(c.td), functionId });
    case 'dmar-block':
      return tdhDmarBlock(p, env, { functionId });
    case 'dmar-remove':
      return tdhDmarRemove(p, env, { functionId });
    case 'devif-remove':
      return tdhDevifRemove(p, env, { functionId });
    case 'stream-block':
      return tdhIdeStreamBlock(p, env, { device, streamId: STREAM });
    case 'error-trigger': {
      // The host clears Bus Master Enable: an ERROR trigger for a locked or running TDI.
      const fn = w.tdi.fn;
      const v = w.dev.device.configRead(fn, regs.PCI_COMMAND, 2);
      w.dev.device.configWrite(fn, regs.PCI_COMMAND, 2, v & ~regs.PCI_COMMAND_MASTER);
      return { ok: true, status: 'TDX_SUCCESS', events: [] };
    }
  }
}

/** The platform's consistency, as the file header states it. */
function checkInvariants(p: TdxPlatform, why: string): void {
  const owners = new Map<bigint, string>();
  for (const [vm, sept] of p.hw.septs) {
    for (const [g, e] of pfnEntries(sept.entries)) {
      if (e.state === 'removed') continue;
      const where = `${why}: ${vm} gfn 0x${g.toString(16)}`;
      assert.equal(owners.get(e.target.hpfn), undefined, `${where}: page has two owners`);
      owners.set(e.target.hpfn, vm);
      if (e.target.kind !== 'mmio') continue;
      const t = p.tsm.tdis.get(e.target.rid);
      assert.ok(t, `${where}: MMIO of a TDI with no record`);
      assert.equal(t.vm, vm, `${where}: MMIO of a TDI not bound to ${vm}`);
      assert.equal(t.mmio.get(g), e.target.hpfn, `${where}: not in the TDI's record`);
      if (t.report) assert.ok(inTeeRange(t, e.target.hpfn), `${where}: not in the report`);
      else assert.notEqual(t.state, 'RUN', `${where}: RUN without a report`);
    }
  }
  for (const t of p.tsm.tdis.values()) {
    for (const [g, h] of t.mmio) {
      const e = t.vm === undefined ? undefined : p.hw.septs.get(t.vm)?.entries[g];
      assert.equal(e?.target.hpfn, h, `${why}: TDI ${t.rid} records gfn 0x${g.toString(16)}`);
    }
  }
  for (const sept of p.hw.septs.values()) assertMmioIndex(sept, why);
  for (const [pfn, o] of pfnEntries(p.tsm.mmioPages)) {
    const e = p.hw.septs.get(o.vm)?.entries[Number(o.gfn)];
    assert.equal(e?.target.hpfn, BigInt(pfn), `${why}: the MMIO index names a stale page`);
  }
  for (const [rid, ctx] of p.hw.iommu.secure) {
    assert.equal(p.tsm.tdis.get(rid)?.vm, ctx.vm, `${why}: DMA context of ${rid}`);
  }
  for (const d of p.vendor.devifs.values()) {
    const t = p.tsm.tdis.get(d.rid);
    assert.equal(t?.vm, d.td, `${why}: DEVIF ${d.rid} and its binding`);
    assert.ok(p.tsm.vms.get(d.td)?.tdis.has(d.rid), `${why}: ${d.td} lists DEVIF ${d.rid}`);
  }
  for (const [rid, t] of p.tsm.tdis) {
    if (t.vm !== undefined) assert.ok(p.vendor.devifs.has(rid), `${why}: bound TDI ${rid}`);
  }
}

/** The host takes the TDI away, TDX order, whatever state the sequence left. */
async function unbind(w: TdxWorld): Promise<void> {
  const { p, env, carrier, functionId } = w;
  const d = p.vendor.devifs.get(w.tdi.requesterId);
  if (!d) return;
  if (d.outstanding) await tdhDevifResponse(p, env, { functionId }, carrier);
  const t = p.tsm.tdis.get(d.rid);
  if (t && t.state !== 'CONFIG_UNLOCKED') {
    const s = tdhDevifRequest(p, env, { functionId, request: 'STOP_INTERFACE_REQUEST' });
    assert.ok(s.ok, `STOP: ${s.status} ${s.detail}`);
    const r = await tdhDevifResponse(p, env, { functionId }, carrier);
    assert.ok(r.ok, `STOP: ${r.status} ${r.detail}`);
  }
  if (p.hw.iommu.secure.has(d.rid)) {
    tdhDmarBlock(p, env, { functionId });
    assert.ok(tdhDmarRemove(p, env, { functionId }).ok);
  }
  const mmio = [...(t?.mmio.keys() ?? [])].map(BigInt);
  for (const g of mmio) tdhMmioBlock(p, env, { td: d.td, gfn: g });
  tdhMemTrack(p, env, { td: d.td });
  for (const g of mmio) assert.ok(tdhMmioUnmap(p, env, { td: d.td, gfn: g }).ok);
  const r = tdhDevifRemove(p, env, { functionId });
  assert.ok(r.ok, `DEVIF.REMOVE: ${r.status} ${r.detail}`);
}

/** Calls that consume an exchange: they change the records even when the device said no. */
const CONSUMING = new Set<Cmd['k']>(['response', 'td-response', 'error-trigger']);

describe('TDX: random call sequences keep the platform consistent', () => {
  it('holds the invariants after every call and after unbind', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(cmd, { minLength: 5, maxLength: 30 }),
        async (prepared, cmds) => {
          const w = await tdxWorld('tdx property');
          const { p, env, carrier, device } = w;
          tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 });
          tdhIdeStreamCreate(p, env, { device, streamId: STREAM });
          assert.ok((await tdhSpdmConnect(p, env, { device }, carrier)).ok);
          for (const t of TDS) tdhMngCreate(p, env, { td: t });
          tdhMrFinalize(p, env, { td: 'td1' });
          // Half the runs start locked, with the report accepted and the BAR pages in the
          // MMIOMT, so the random calls reach mappings and RUN.
          const setup: Cmd[] = prepared
            ? [
                { k: 'devif-create', td: 0 },
                { k: 'validate', td: 0 },
                { k: 'host-request', request: 0 },
                { k: 'response' },
                { k: 'td-request', td: 0, request: 3 },
                { k: 'carry' },
                { k: 'response' },
                { k: 'td-response', td: 0 },
                ...[0, 1, 2].flatMap((page): Cmd[] => [
                  { k: 'mmiomt-add', page },
                  { k: 'mmiomt-set', page },
                ]),
              ]
            : [];
          for (const c of setup) assert.ok((await run(w, c)).ok, JSON.stringify(c));
          for (const [i, c] of cmds.entries()) {
            const before = recordsHash(p);
            const o = await run(w, c);
            const why = `step ${i} ${JSON.stringify(c)} -> ${o.status}`;
            if (!o.ok && !CONSUMING.has(c.k)) {
              assert.equal(recordsHash(p), before, `${why}: a refusal changed the records`);
            }
            checkInvariants(p, why);
          }
          await unbind(w);
          checkInvariants(p, 'after unbind');
          const rid = w.tdi.requesterId;
          assert.equal(p.tsm.tdis.has(rid), false);
          assert.equal(p.hw.iommu.secure.has(rid), false);
          for (const sept of p.hw.septs.values()) {
            for (const e of pfnValues(sept.entries)) {
              assert.ok(e.target.kind !== 'mmio' || e.target.rid !== rid, 'MMIO left after unbind');
            }
          }
        },
      ),
      { numRuns: 20, seed: 0x7d5 },
    );
  });
});
