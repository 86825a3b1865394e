/**
 * SEV-TIO private memory, private MMIO and trusted DMA over the platform's hardware: the
 * host assigns BAR and RAM pages with RMPUPDATE, the guest validates them
 * (TIO_MSG_MMIO_VALIDATE_REQ, PVALIDATE) and enables DMA (its sDTE); unbind gives every BAR
 * page back to the host; a host that takes a page back under a running guest fences the
 * guest's ASID (MMIO writes dropped, reads all ones, DMA stopped) until
 * TIO_ASID_FENCE_CLEAR.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  guestMmioRead,
  guestMmioWrite,
  hostMmioRead,
  privateMmioOwner,
} from '../../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { ownerOf } from '../../../src/platform/memory.ts';
import { asidFenced, fencedMmio } from '../../../src/platform/sev/fence.ts';
import {
  pvalidate,
  tioMsgMmioValidateReq,
  tioMsgSdteWriteReq,
} from '../../../src/platform/sev/guest-abi.ts';
import {
  rmpUpdate,
  tioAsidFenceClear,
  tioAsidFenceStatus,
  tioGuestRequest,
  tioTdiStatus,
  tioTdiUnbind,
  vmOfGctx,
} from '../../../src/platform/sev/host-abi.ts';
import type { SdteFields } from '../../../src/platform/sev/state.ts';
import { DEFAULT_MEMORY } from '../../../src/platform/state.ts';
import { tdiRunning } from '../../../src/platform/tsm/state.ts';
import { bound, guest, sealAs } from './flow.ts';
import { ASID, GCTX, GUEST_BDF, ok, refused, type SevWorld, sevWorld } from './world.ts';

const GPA_MMIO = 0x8000_0000n;
const GPA_RAM = 0x10_0000n;
const RAM = DEFAULT_MEMORY[0].base;
const SDTE: SdteFields = { v: true, ir: true, iw: true, vmpl: 0, vtomEn: true, vtom: 0x1000 };
const g = { gctx: GCTX, guestDeviceId: GUEST_BDF };

/** The first TEE range of the TDI's report (not MSI-X), in host physical addresses. */
function teeRange(w: SevWorld) {
  const r = w.p.tsm.tdis
    .get(w.rid)
    ?.report?.ranges.find((x) => !x.nonTee && !x.msixTable && !x.msixPba);
  assert.ok(r, 'the report has a TEE range');
  return r;
}

/** Bound, the TEE range assigned at GPA_MMIO, validated through the relay (-> RUN), sDTE on. */
async function inUse(w: SevWorld, newGuest = true) {
  await bound(w, GCTX, newGuest);
  const range = teeRange(w);
  for (let i = 0; i < range.pages; i++) {
    const spa = range.base + BigInt(i) * 4096n;
    ok(
      rmpUpdate(w.p, w.env, { spa, assigned: true, asid: ASID, gpa: GPA_MMIO + BigInt(i) * 4096n }),
    );
  }
  const validate = {
    ...g,
    subrangeBase: GPA_MMIO,
    subrangePageCount: range.pages,
    rangeOffset: 0,
    rangeId: range.rangeId,
    validated: true,
  };
  const message = { type: 'TIO_MSG_MMIO_VALIDATE_REQ' as const, args: validate };
  const r = await tioGuestRequest(
    w.p,
    w.env,
    { dev: w.fn0, tdi: w.rid, gctx: GCTX, message, seal: sealAs(w.p, message) },
    w.carrier,
  );
  const reply = ok(r);
  assert.equal(reply.status, 'MMIO_VALIDATE_SUCCESS');
  assert.deepEqual(reply.value, { changed: true });
  ok(tioMsgSdteWriteReq(w.p, w.env, { ...g, sdte: SDTE }));
  return { range, validate };
}

describe('SEV-TIO private MMIO', () => {
  it('RMPUPDATE assigns BAR pages only for a TEE range of a TDI bound to the guest', async () => {
    const w = await sevWorld('rmp mmio');
    await bound(w);
    const { p, env } = w;
    const range = teeRange(w);
    const a = { spa: range.base, assigned: true, asid: ASID, gpa: GPA_MMIO };
    await refused(p, 'RMPUPDATE_FAIL_INPUT', () => rmpUpdate(p, env, { ...a, asid: 99 }));
    await refused(p, 'RMPUPDATE_FAIL_INPUT', () => rmpUpdate(p, env, { ...a, spa: a.spa + 8n }));
    // A page outside every report range (the BAR's end plus a page is no TEE page).
    const outside = range.base + BigInt(range.pages) * 4096n + (1n << 30n);
    await refused(p, 'RMPUPDATE_FAIL_INPUT', () => rmpUpdate(p, env, { ...a, spa: outside }));
    ok(rmpUpdate(p, env, a));
    assert.equal(privateMmioOwner(p.hw, Number(range.base >> PAGE_SHIFT)), vmOfGctx(GCTX));
    await refused(p, 'RMPUPDATE_FAIL_INUSE', () =>
      rmpUpdate(p, env, { ...a, gpa: GPA_MMIO + 0x10_0000n }),
    );
  });

  it('TIO_MSG_MMIO_VALIDATE_REQ: each MMIO_VALIDATE_* refusal, then validation takes the TDI to RUN', async () => {
    const w = await sevWorld('mmio validate');
    await bound(w);
    const { p, env } = w;
    const range = teeRange(w);
    ok(rmpUpdate(p, env, { spa: range.base, assigned: true, asid: ASID, gpa: GPA_MMIO }));
    const v = {
      ...g,
      subrangeBase: GPA_MMIO,
      subrangePageCount: 1,
      rangeOffset: 0,
      rangeId: range.rangeId,
      validated: true,
    };
    await refused(p, 'MMIO_VALIDATE_INVALID_TDI', () =>
      tioMsgMmioValidateReq(p, env, { ...v, guestDeviceId: 0x77 }),
    );
    await refused(p, 'MMIO_VALIDATE_NOT_REPORTED', () =>
      tioMsgMmioValidateReq(p, env, { ...v, rangeId: 7 }),
    );
    // Past every page the report gives the RANGE_ID (the MSI-X table and PBA, locked, are
    // ranges of the same ID).
    const idPages = (p.tsm.tdis.get(w.rid)?.report?.ranges ?? [])
      .filter((x) => x.rangeId === range.rangeId)
      .reduce((n, x) => n + x.pages, 0);
    await refused(p, 'MMIO_VALIDATE_OUT_OF_RANGE', () =>
      tioMsgMmioValidateReq(p, env, { ...v, subrangePageCount: idPages + 1 }),
    );
    await refused(p, 'MMIO_VALIDATE_NOT_ASSIGNED', () =>
      tioMsgMmioValidateReq(p, env, { ...v, subrangeBase: GPA_MMIO + 0x10_0000n }),
    );
    if (range.pages > 1) {
      // The guest names the right GPA but the wrong place in the range.
      await refused(p, 'MMIO_VALIDATE_NOT_MAPPED', () =>
        tioMsgMmioValidateReq(p, env, { ...v, rangeOffset: 4096 }),
      );
    }
    const first = ok(tioMsgMmioValidateReq(p, env, v));
    assert.deepEqual(first, { changed: true });
    assert.deepEqual(ok(tioMsgMmioValidateReq(p, env, v)), { changed: false });
    if (range.pages > 1) {
      ok(
        rmpUpdate(p, env, {
          spa: range.base + 4096n,
          assigned: true,
          asid: ASID,
          gpa: GPA_MMIO + 4096n,
        }),
      );
      await refused(p, 'MMIO_VALIDATE_NOT_UNIFORM', () =>
        tioMsgMmioValidateReq(p, env, { ...v, subrangePageCount: 2 }),
      );
      ok(tioMsgMmioValidateReq(p, env, { ...v, subrangePageCount: 2, forceValidated: true }));
    }
    assert.equal(p.tsm.tdis.get(w.rid)?.state, 'CONFIG_LOCKED', 'validation alone does not START');
  });

  it('the guest reads its private MMIO through the secure EPT once RUN; the host cannot', async () => {
    const w = await sevWorld('mmio read');
    const { range } = await inUse(w);
    assert.equal(tdiRunning(w.p.tsm, w.rid), true);
    assert.equal(w.p.tsm.tdis.get(w.rid)?.dma, 'accepted');
    const rd = guestMmioRead(w.p.hw, w.bus, w.views, vmOfGctx(GCTX), GPA_MMIO, 4);
    assert.equal(rd.result.status, 'SC');
    const host = hostMmioRead(w.p.hw, w.bus, range.base, 4);
    assert.equal(host.result.status, 'CA', "a private BAR page is not the host's");
  });

  it('unbind gives every BAR page back to the host and leaves the TDI CONFIG_UNLOCKED', async () => {
    const w = await sevWorld('unbind shared');
    const { range } = await inUse(w);
    const { p, env, fn0, rid, carrier } = w;
    ok(await tioTdiUnbind(p, env, { dev: fn0, tdi: rid, gctx: GCTX, force: true }, carrier));
    for (const b of w.tdi.bars) {
      for (let a = b.address; a < b.address + b.size; a += 4096n) {
        assert.equal(
          privateMmioOwner(p.hw, Number(a >> PAGE_SHIFT)),
          undefined,
          `page 0x${a.toString(16)}`,
        );
      }
    }
    assert.equal(p.tsm.tdis.get(rid)?.mmio.size, 0);
    assert.equal(p.hw.iommu.secure.has(rid), false, 'no trusted DMA context');
    assert.equal(p.vendor.tdis.get(rid)?.validated.size, 0);
    const host = hostMmioRead(p.hw, w.bus, range.base, 4);
    assert.equal(host.result.status, 'SC', 'the host reaches the BAR page again');
    const st = ok(await tioTdiStatus(p, env, { dev: fn0, tdi: rid }, carrier));
    assert.equal(st.name, 'CONFIG_UNLOCKED');
    const rd = guestMmioRead(p.hw, w.bus, w.views, vmOfGctx(GCTX), GPA_MMIO, 4);
    assert.notEqual(rd.result.status, 'SC', 'the guest lost its mapping');
  });
});

describe('SEV-TIO: the ASID fence', () => {
  it('a host unmap of private memory under a running guest fences the ASID until FENCE_CLEAR', async () => {
    const w = await sevWorld('fence memory');
    guest(w);
    const { p, env, fn0 } = w;
    // A RAM page for the guest before launch finished would be measured; after it, PVALIDATE.
    const spa = RAM + 0x5000n;
    ok(rmpUpdate(p, env, { spa, assigned: true, asid: ASID, gpa: GPA_RAM }));
    assert.deepEqual(ownerOf(p.hw.memory, spa >> PAGE_SHIFT), {
      kind: 'private',
      vm: vmOfGctx(GCTX),
    });
    ok(pvalidate(p, env, { gctx: GCTX, gpa: GPA_RAM, validate: true }));
    await refused(p, 'PVALIDATE_FAIL_NOUPDATE', () =>
      pvalidate(p, env, { gctx: GCTX, gpa: GPA_RAM, validate: true }),
    );
    await refused(p, 'PVALIDATE_FAIL_INPUT', () =>
      pvalidate(p, env, { gctx: GCTX, gpa: GPA_RAM + 0x1000n, validate: true }),
    );
    // Not yet running a TDI: taking a page back fences nothing.
    const spare = RAM + 0x6000n;
    ok(rmpUpdate(p, env, { spa: spare, assigned: true, asid: ASID, gpa: GPA_RAM + 0x1000n }));
    assert.deepEqual(ok(rmpUpdate(p, env, { spa: spare, assigned: false })), { fenced: false });
    assert.deepEqual(ownerOf(p.hw.memory, spare >> PAGE_SHIFT), { kind: 'shared' });

    // Now the guest runs its TDI (the flow binds the already-created guest).
    await inUse(w, false);
    const vm = vmOfGctx(GCTX);
    const before = guestMmioRead(p.hw, w.bus, w.views, vm, GPA_MMIO, 4);
    assert.equal(before.result.status, 'SC');
    assert.equal(fencedMmio(p, vm, 'read', 4), undefined);

    const u = ok(rmpUpdate(p, env, { spa, assigned: false }));
    assert.deepEqual(u, { fenced: true });
    assert.deepEqual(ownerOf(p.hw.memory, spa >> PAGE_SHIFT), { kind: 'shared' }, 'scrubbed back');
    assert.equal(asidFenced(p, vm), true);
    assert.deepEqual(fencedMmio(p, vm, 'write', 4), { kind: 'write', dropped: true });
    assert.deepEqual(fencedMmio(p, vm, 'read', 2), {
      kind: 'read',
      data: Uint8Array.of(0xff, 0xff),
    });
    // Through the fabric: the same read now completes with all ones, a write is dropped.
    const fencedRead = guestMmioRead(p.hw, w.bus, w.views, vm, GPA_MMIO, 4);
    assert.notEqual(fencedRead.result.status, 'SC');
    assert.deepEqual(fencedRead.result.data, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    const data = Uint8Array.of(1, 2, 3, 4);
    const fencedWrite = guestMmioWrite(p.hw, w.bus, w.views, vm, GPA_MMIO, data);
    assert.notEqual(fencedWrite.result.status, 'SC', 'the write is dropped');
    assert.equal(p.tsm.tdis.get(w.rid)?.dma, 'blocked', 'the fence stops trusted DMA');
    assert.equal(ok(tioAsidFenceStatus(p, env, { dev: fn0, asid: ASID })).status, 0b1101);
    await refused(p, 'SDTE_WRITE_INVALID_TDI', () =>
      tioMsgSdteWriteReq(p, env, { ...g, sdte: SDTE }),
    );

    ok(tioAsidFenceClear(p, env, { dev: fn0, gctx: GCTX }));
    assert.equal(asidFenced(p, vm), false);
    assert.equal(fencedMmio(p, vm, 'read', 4), undefined);
    assert.equal(guestMmioRead(p.hw, w.bus, w.views, vm, GPA_MMIO, 4).result.status, 'SC');
    // The guest turns its DMA on again.
    ok(tioMsgSdteWriteReq(p, env, { ...g, sdte: SDTE }));
    assert.equal(p.tsm.tdis.get(w.rid)?.dma, 'accepted');
  });

  it('a host unmap of private MMIO under a running guest fences the ASID', async () => {
    const w = await sevWorld('fence mmio');
    const { range } = await inUse(w);
    const { p, env } = w;
    const u = ok(rmpUpdate(p, env, { spa: range.base, assigned: false }));
    assert.deepEqual(u, { fenced: true });
    assert.equal(privateMmioOwner(p.hw, Number(range.base >> PAGE_SHIFT)), undefined);
    assert.equal(asidFenced(p, vmOfGctx(GCTX)), true);
    assert.equal(p.vendor.tdis.get(w.rid)?.validated.size, 0, 'the validation went with the page');
    await refused(p, 'RMPUPDATE_FAIL_INPUT', () =>
      rmpUpdate(p, env, { spa: range.base, assigned: false }),
    );
  });
});
