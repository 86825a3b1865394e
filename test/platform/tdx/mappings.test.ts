/**
 * The TDX flavour's private placements against teeio's NIC on the platform's fabric: the
 * MMIO metadata table, TDH.MMIO.MAP / BLOCK / UNMAP with the TD's TDG.MMIO.ACCEPT per report
 * range page, trusted DMA (TDH.DMAR.*, TDG.DMAR.ACCEPT), private memory (TDH.MEM.PAGE.*,
 * TDG.MEM.PAGE.ACCEPT), and DEVIF.REMOVE refused while anything is still mapped. Every
 * refusal leaves the platform's canonical hash unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { ownerOf, readPhys } from '../../../src/platform/memory.ts';
import { rootPortStreamState } from '../../../src/platform/root-port.ts';
import { DEFAULT_MEMORY } from '../../../src/platform/state.ts';
import {
  tdgDmarAccept,
  tdgMemPageAccept,
  tdgMmioAccept,
} from '../../../src/platform/tdx/guest-abi.ts';
import {
  tdhDevifRemove,
  tdhIdeStreamBlock,
  tdhMngCreate,
  tdhMrFinalize,
} from '../../../src/platform/tdx/host-abi.ts';
import {
  tdhDmarAdd,
  tdhDmarBlock,
  tdhDmarRead,
  tdhDmarRemove,
  tdhMemPageAdd,
  tdhMemPageAug,
  tdhMemPageRemove,
  tdhMemRangeBlock,
  tdhMemTrack,
  tdhMmioBlock,
  tdhMmioMap,
  tdhMmiomtAdd,
  tdhMmiomtRd,
  tdhMmiomtRemove,
  tdhMmiomtSet,
  tdhMmioUnmap,
} from '../../../src/platform/tdx/host-mappings.ts';
import {
  hostRequest,
  ok,
  refused,
  STREAM,
  TD,
  type TdxWorld,
  tdRequest,
  tdxWorld,
  withDevif,
} from './world.ts';

const MEM_PFN = DEFAULT_MEMORY[0].base >> PAGE_SHIFT;
const GFN_MEM = 0x100n;
const GFN_MMIO = 0x200n;

/** A finalized TD with its DEVIF locked and the report accepted by the TD. */
async function locked(seed: string) {
  const w = await tdxWorld(seed);
  await withDevif(w);
  ok(tdhMrFinalize(w.p, w.env, { td: TD }));
  ok(await hostRequest(w, 'LOCK_INTERFACE_REQUEST'));
  ok(await tdRequest(w, 'GET_DEVICE_INTERFACE_REPORT'));
  const rid = w.tdi.requesterId;
  const ranges = w.p.tsm.tdis.get(rid)?.report?.ranges ?? [];
  const tee = ranges.find((r) => !r.nonTee && !r.msixTable && !r.msixPba);
  assert.ok(tee, 'the report has a TEE range');
  return { ...w, rid, tee, teePfn: tee.base >> PAGE_SHIFT, ranges };
}

/** An MMIOMT entry for `pfn` owned by the world's DEVIF. */
function owned(w: TdxWorld, pfn: bigint) {
  ok(tdhMmiomtAdd(w.p, w.env, { pfn }));
  ok(tdhMmiomtSet(w.p, w.env, { pfn, functionId: w.functionId }));
}

describe('TDX: private MMIO', () => {
  it("maps only pages the MMIOMT gives the TD's DEVIF and the report lists; the TD accepts page by page", async () => {
    const w = await locked('tdx mmio map');
    const { p, env, functionId, tee, teePfn, ranges } = w;
    const map = (gfn: bigint, pfn: bigint, td = TD) => tdhMmioMap(p, env, { td, gfn, pfn });

    await refused(p, 'TDX_MMIOMT_NOT_PRESENT', () => map(GFN_MMIO, teePfn));
    ok(tdhMmiomtAdd(p, env, { pfn: teePfn }));
    await refused(p, 'TDX_PAGE_NOT_FREE', () => tdhMmiomtAdd(p, env, { pfn: teePfn }));
    await refused(p, 'TDX_MMIO_INVALID_PAGE_METADATA', () => map(GFN_MMIO, teePfn));
    await refused(p, 'TDX_DEVIFMT_NOT_PRESENT', () =>
      tdhMmiomtSet(p, env, { pfn: teePfn, functionId: w.device }),
    );
    ok(tdhMmiomtSet(p, env, { pfn: teePfn, functionId }));
    assert.deepEqual(ok(tdhMmiomtRd(p, env, { pfn: teePfn })), {
      pfn: teePfn,
      devif: w.rid,
      mapped: false,
    });
    ok(tdhMngCreate(p, env, { td: 'td2' }));
    await refused(p, 'TDX_MMIO_DEVIF_OWNER_MISMATCH', () => map(GFN_MMIO, teePfn, 'td2'));

    // A page of no report range (a gigabyte past every range): the core refuses it.
    let far = 1n << 30n;
    for (const r of ranges) if (r.base + (1n << 30n) > far) far = r.base + (1n << 30n);
    owned(w, far >> PAGE_SHIFT);
    await refused(p, 'TDX_MMIO_PAGE_NOT_IN_ASSOC_RANGE', () => map(GFN_MMIO, far >> PAGE_SHIFT));

    ok(map(GFN_MMIO, teePfn));
    assert.equal(p.hw.septs.get(TD)?.entries[Number(GFN_MMIO)]?.state, 'pending');
    assert.ok(tee.pages > 1, 'the TEE range has a second page');
    owned(w, teePfn + 1n);
    await refused(p, 'TDX_EPT_ENTRY_NOT_FREE', () => map(GFN_MMIO, teePfn + 1n));
    await refused(p, 'TDX_MMIO_INVALID_PAGE_METADATA', () => map(GFN_MMIO + 1n, teePfn));
    await refused(p, 'TDX_IOMMU_MT_PAGE_IN_USE', () => tdhMmiomtRemove(p, env, { pfn: teePfn }));
    await refused(p, 'TDX_IOMMU_MT_PAGE_IN_USE', () =>
      tdhMmiomtSet(p, env, { pfn: teePfn, functionId }),
    );

    // The TD accepts the page only as the page of the range it expects at that address.
    const accept = (rangeId: number, pageOffset: number, td = TD) =>
      tdgMmioAccept(p, env, { td, functionId, gfn: GFN_MMIO, rangeId, pageOffset });
    if (tee.pages > 1)
      await refused(p, 'TDX_MMIO_INVALID_HPA_OFFSET', () => accept(tee.rangeId, 1));
    await refused(p, 'TDX_MMIO_PAGE_NOT_IN_ASSOC_RANGE', () => accept(tee.rangeId, tee.pages));
    await refused(p, 'TDX_MMIO_PAGE_NOT_IN_ASSOC_RANGE', () => accept(0xff, 0));
    await refused(p, 'TDX_DEVIF_INVALID_METADATA', () => accept(tee.rangeId, 0, 'td2'));
    await refused(p, 'TDX_EPT_WALK_FAILED', () =>
      tdgMmioAccept(p, env, {
        td: TD,
        functionId,
        gfn: GFN_MEM,
        rangeId: tee.rangeId,
        pageOffset: 0,
      }),
    );
    ok(accept(tee.rangeId, 0));
    assert.equal(p.hw.septs.get(TD)?.entries[Number(GFN_MMIO)]?.state, 'present');
    assert.equal(accept(tee.rangeId, 0).status, 'TDX_MMIO_PAGE_ALREADY_ACCEPTED');
    assert.equal(ok(tdhMmiomtRd(p, env, { pfn: teePfn })).mapped, true);
  });

  it('UNMAP needs BLOCK, a tracked flush, and the TDI unlocked or its stream blocked', async () => {
    const w = await locked('tdx mmio unmap');
    const { p, env, functionId, tee, teePfn, device } = w;
    owned(w, teePfn);
    ok(tdhMmioMap(p, env, { td: TD, gfn: GFN_MMIO, pfn: teePfn }));
    ok(
      tdgMmioAccept(p, env, {
        td: TD,
        functionId,
        gfn: GFN_MMIO,
        rangeId: tee.rangeId,
        pageOffset: 0,
      }),
    );
    ok(await tdRequest(w, 'START_INTERFACE_REQUEST'));
    assert.equal(p.tsm.tdis.get(w.rid)?.state, 'RUN');
    const unmap = () => tdhMmioUnmap(p, env, { td: TD, gfn: GFN_MMIO });

    await refused(p, 'TDX_GPA_RANGE_NOT_BLOCKED', unmap);
    ok(tdhMmioBlock(p, env, { td: TD, gfn: GFN_MMIO }));
    // A warning, not an error: nothing to do (bit 63 clear).
    const again = tdhMmioBlock(p, env, { td: TD, gfn: GFN_MMIO });
    assert.equal(again.status, 'TDX_GPA_RANGE_ALREADY_BLOCKED');
    await refused(p, 'TDX_TLB_TRACKING_NOT_DONE', unmap);
    ok(tdhMemTrack(p, env, { td: TD }));
    // Blocked and tracked, but the TDI runs on a trusted stream: the TD still uses the page.
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_STATE', unmap);
    // DEVIF.REMOVE while the TDI runs, and then with its mappings left behind.
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () => tdhDevifRemove(p, env, { functionId }));

    // Blocking the stream takes the trust away (the root port's keys stop): now the page may go.
    assert.equal(rootPortStreamState(p.hw.rootPort, STREAM), 'secure');
    ok(tdhIdeStreamBlock(p, env, { device, streamId: STREAM }));
    assert.equal(rootPortStreamState(p.hw.rootPort, STREAM), 'insecure');
    ok(unmap());
    await refused(p, 'TDX_EPT_WALK_FAILED', unmap);
    assert.equal(p.tsm.tdis.get(w.rid)?.mmio.size, 0);
    assert.equal(p.hw.septs.get(TD)?.entries[Number(GFN_MMIO)] !== undefined, false);
    // The TDI is still RUN at the device: the core's release wants it stopped first.
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () => tdhDevifRemove(p, env, { functionId }));
  });
});

describe('TDX: trusted DMA, private memory and DEVIF.REMOVE', () => {
  it('T=1 DMA lands only after TDG.DMAR.ACCEPT; REMOVE refuses while DMA or MMIO is mapped', async () => {
    const w = await locked('tdx dma');
    const { p, env, functionId, tee, teePfn, dev, tdi, events } = w;

    // Private memory: ADD is for the initial image only; AUG waits for the TD's accept.
    await refused(p, 'TDX_OP_STATE_INCORRECT', () =>
      tdhMemPageAdd(p, env, { td: TD, gfn: GFN_MEM, pfn: MEM_PFN }),
    );
    ok(tdhMemPageAug(p, env, { td: TD, gfn: GFN_MEM, pfn: MEM_PFN }));
    assert.deepEqual(ownerOf(p.hw.memory, MEM_PFN), { kind: 'private', vm: TD });
    ok(tdhMngCreate(p, env, { td: 'td2' }));
    await refused(p, 'TDX_OP_STATE_INCORRECT', () =>
      tdhMemPageAug(p, env, { td: 'td2', gfn: GFN_MEM, pfn: MEM_PFN }),
    );
    await refused(p, 'TDX_PAGE_METADATA_INCORRECT', () =>
      tdhMemPageAdd(p, env, { td: 'td2', gfn: GFN_MEM, pfn: MEM_PFN }),
    );
    ok(tdgMemPageAccept(p, env, { td: TD, gfn: GFN_MEM }));

    await refused(p, 'TDX_DMAR_ENTRY_NOT_PRESENT', () => tdhDmarRead(p, env, { functionId }));
    await refused(p, 'TDX_DMAR_ENTRY_NOT_PRESENT', () =>
      tdgDmarAccept(p, env, { td: TD, functionId }),
    );
    ok(tdhDmarAdd(p, env, { functionId }));
    await refused(p, 'TDX_DMAR_INVALID_MAPPING_STATE', () => tdhDmarAdd(p, env, { functionId }));
    await refused(p, 'TDX_DEVIF_INVALID_METADATA', () =>
      tdgDmarAccept(p, env, { td: 'td2', functionId }),
    );
    owned(w, teePfn);
    ok(tdhMmioMap(p, env, { td: TD, gfn: GFN_MMIO, pfn: teePfn }));
    ok(
      tdgMmioAccept(p, env, {
        td: TD,
        functionId,
        gfn: GFN_MMIO,
        rangeId: tee.rangeId,
        pageOffset: 0,
      }),
    );
    ok(await tdRequest(w, 'START_INTERFACE_REQUEST'));

    const data = new Uint8Array(64).fill(0xa5);
    const gpa = GFN_MEM << PAGE_SHIFT;
    const early = dev.device.dmaWrite(tdi.fn, gpa, data);
    assert.notEqual(early.issued && early.status, 'SC');
    assert.ok(
      events.some((e) => e.kind === 'transaction' && e.reason === 'secure-dma-not-accepted'),
    );
    ok(tdgDmarAccept(p, env, { td: TD, functionId }));
    assert.deepEqual(ok(tdhDmarRead(p, env, { functionId })), { td: TD, state: 'accepted' });
    const landed = dev.device.dmaWrite(tdi.fn, gpa, data);
    assert.equal(landed.issued && landed.status, 'SC');
    assert.deepEqual(readPhys(p.hw.memory, MEM_PFN << PAGE_SHIFT, 64), data);

    // Unbind, TDX order: STOP; then REMOVE finds DMA, then MMIO, still mapped.
    ok(await hostRequest(w, 'STOP_INTERFACE_REQUEST'));
    await refused(p, 'TDX_DEVIF_HAS_MAPPED_DMA', () => tdhDevifRemove(p, env, { functionId }));
    await refused(p, 'TDX_DMAR_INVALID_MAPPING_STATE', () => tdhDmarRemove(p, env, { functionId }));
    ok(tdhDmarBlock(p, env, { functionId }));
    ok(tdhDmarRemove(p, env, { functionId }));
    await refused(p, 'TDX_DEVIF_HAS_MAPPED_MMIO', () => tdhDevifRemove(p, env, { functionId }));
    ok(tdhMmioBlock(p, env, { td: TD, gfn: GFN_MMIO }));
    ok(tdhMemTrack(p, env, { td: TD }));
    ok(tdhMmioUnmap(p, env, { td: TD, gfn: GFN_MMIO }));
    ok(tdhDevifRemove(p, env, { functionId }));
    assert.equal(p.tsm.tdis.has(w.rid), false);
    assert.equal(p.vendor.devifs.has(w.rid), false);
    assert.equal(p.hw.iommu.secure.has(w.rid), false);
    assert.equal(p.tsm.vms.get(TD)?.tdis.size, 0);

    // The private page: block, track, remove; shared again and scrubbed.
    await refused(p, 'TDX_GPA_RANGE_NOT_BLOCKED', () =>
      tdhMemPageRemove(p, env, { td: TD, gfn: GFN_MEM }),
    );
    ok(tdhMemRangeBlock(p, env, { td: TD, gfn: GFN_MEM }));
    ok(tdhMemTrack(p, env, { td: TD }));
    ok(tdhMemPageRemove(p, env, { td: TD, gfn: GFN_MEM }));
    assert.deepEqual(ownerOf(p.hw.memory, MEM_PFN), { kind: 'shared' });
    assert.deepEqual(readPhys(p.hw.memory, MEM_PFN << PAGE_SHIFT, 64), new Uint8Array(64));
  });
});
