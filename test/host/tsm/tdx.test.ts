/**
 * The TDX TSM host driver through the PCI/TSM core: tsm/connect and tsm/disconnect as
 * TDH.SPDM.* and TDH.IDE.STREAM.* SEAMCALLs with their errnos, the host half of a TDI's life
 * with a TD (TDH.MNG.CREATE, private pages, TDH.MR.FINALIZE, the DEVIF, private MMIO through
 * the MMIO metadata table, trusted DMA, the TD's requests relayed), TDX's unbind order, and
 * what the TDX module does to a host that unmaps under a running TD: it refuses. Every
 * refusal leaves the host's records and the platform's as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmDisconnect,
  pciTsmStop,
  pciTsmUnbind,
} from '../../../src/host/pci-tsm/core.ts';
import { tdxErrno } from '../../../src/host/tsm/tdx/index.ts';
import { ownerOf } from '../../../src/platform/memory.ts';
import { pfnCount, pfnValues } from '../../../src/platform/pfn-table.ts';
import { TransportError } from '../../../src/transport/types.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { devInfoHash } from '../../platform/tdx/world.ts';
import { ok, refused } from '../world.ts';
import {
  barOffset,
  calls,
  connectedTd,
  D,
  everything,
  guestReq,
  IMAGE_GFN,
  records,
  TD,
  type TdxWorld,
  tdAccess,
  tdcall,
  tdOk,
  tdRequest,
  tdxWorld,
  toRun,
  VDEV_ID,
} from './tdx-world.ts';

/** No secure-EPT entry of the TD maps MMIO, and the module holds no MMIO page of the TDI. */
function noPrivateMmio(w: TdxWorld): void {
  for (const sept of w.p.hw.septs.values()) {
    for (const e of pfnValues(sept.entries)) assert.notEqual(e.target.kind, 'mmio');
  }
  assert.equal(w.p.tsm.tdis.get(w.rid)?.mmio.size ?? 0, 0);
  assert.equal(w.p.vendor.mmiomt.size, 0);
}

/** Asserts a refusal with `errno` that changed nothing, the secure EPT and trusted IOMMU included. */
async function refusedAll<T>(
  w: TdxWorld,
  errno: Parameters<typeof refused>[1],
  call: Parameters<typeof refused<T>>[2],
) {
  const before = everything(w);
  const o = await refused(w, errno, call);
  assert.equal(everything(w), before, `${errno}: the secure EPT or trusted IOMMU changed`);
  return o;
}

describe('TDX host driver: tsm/connect and tsm/disconnect', () => {
  it('connects through TDH.SPDM.CREATE, TDH.IDE.STREAM.CREATE, TDH.SPDM.CONNECT; the sysfs errnos', async () => {
    const w = await tdxWorld('tdx connect');
    const { m, h, dsm } = w;
    const connect = (tsm: string) => () => pciTsmConnect(m, h, { dsm, tsm });
    const disconnect = (tsm: string) => () => pciTsmDisconnect(m, h, { dsm, tsm });
    await refused(w, 'EINVAL', connect('foo'));
    await refused(w, 'ENXIO', connect('tsm1'));
    await refused(w, 'ENXIO', disconnect(LINK_TSM));
    assert.equal(h.tsmDriver.tdx, undefined, 'a refusal attached no driver records');

    const c = await connect(LINK_TSM)();
    ok(c);
    assert.deepEqual(calls(c.events), [
      'TDH.SPDM.CREATE',
      'TDH.IDE.STREAM.CREATE',
      'TDH.SPDM.CONNECT',
    ]);
    assert.equal(c.events.at(-1)?.kind, 'uapi');
    assert.equal(w.p.tsm.devices.get(dsm)?.phase, 'connected');
    assert.equal(w.p.vendor.streams.get(dsm)?.state, 'active');
    assert.equal(h.pciTsm.devices.get(dsm)?.connectedTo, LINK_TSM);
    assert.deepEqual(records(w).devices.get(dsm), { dsm, iommuId: 0, spdmIdx: 0, streamId: 0 });

    await refused(w, 'EBUSY', connect(LINK_TSM));
    await refused(w, 'EINVAL', disconnect('tsm1'));

    // While a TDI is bound the device stays connected.
    ok(await D.vmCreate(m, h, TD));
    ok(await pciTsmBind(m, h, { rid: w.rid, vm: TD, vdevId: VDEV_ID }));
    await refused(w, 'EBUSY', disconnect(LINK_TSM));
    ok(await pciTsmStop(m, h, { rid: w.rid }));
    ok(await pciTsmUnbind(m, h, { rid: w.rid }));

    const d = await disconnect(LINK_TSM)();
    ok(d);
    assert.deepEqual(calls(d.events), [
      'TDH.IDE.STREAM.BLOCK',
      'TDH.IDE.STREAM.DELETE',
      'TDH.SPDM.DISCONNECT',
      'TDH.SPDM.DELETE',
    ]);
    assert.equal(w.p.tsm.devices.has(dsm), false);
    assert.equal(w.p.vendor.spdm.size, 0);
    assert.equal(w.p.vendor.streams.size, 0);
    assert.equal(records(w).devices.size, 0);
    assert.equal(h.pciTsm.devices.has(dsm), false);
    // Connected again from scratch.
    ok(await connect(LINK_TSM)());
    assert.equal(w.p.tsm.devices.get(dsm)?.phase, 'connected');
  });

  it('an SPDM object the host does not know of is a device in use: -EBUSY, the module left as it was', async () => {
    const w = await tdxWorld('tdx stray spdm');
    const { m, h, dsm } = w;
    const stray = await m.firmware('TDH.SPDM.CREATE', { device: dsm, iommuId: 0, spdmIdx: 7 });
    assert.equal(stray.ok, true);
    const o = await refused(w, 'EBUSY', () => pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.deepEqual(calls(o.events), ['TDH.SPDM.CREATE']);
    assert.equal(w.p.vendor.spdm.get(dsm)?.spdmIdx, 7);
  });

  it('a failed SPDM connect deletes the stream and the SPDM object again: -EIO, nothing left', async () => {
    const w = await tdxWorld('tdx failed connect');
    const { h, dsm } = w;
    // The host's mailbox driver loses every message: the session cannot be set up.
    const mailbox = w.carriers.get(dsm);
    assert.ok(mailbox);
    w.carriers.set(dsm, {
      binding: mailbox.binding,
      exchange: async () => {
        throw new TransportError('timeout', 'DOE mailbox: no response');
      },
      close: async () => undefined,
    });
    const o = await refused(w, 'EIO', () => pciTsmConnect(w.m, h, { dsm, tsm: LINK_TSM }));
    assert.deepEqual(calls(o.events), [
      'TDH.SPDM.CREATE',
      'TDH.IDE.STREAM.CREATE',
      'TDH.SPDM.CONNECT',
      'TDH.IDE.STREAM.DELETE',
      'TDH.SPDM.DELETE',
    ]);
    assert.equal(w.p.vendor.spdm.size, 0);
    assert.equal(w.p.tsm.devices.size, 0);
  });
});

describe('TDX host driver: a TDI from connect to RUN and back', () => {
  it('TD, image, bind, relayed report and start, private MMIO, DMA; then stop, unmap, unbind, disconnect', async () => {
    const w = await tdxWorld('tdx lifecycle');
    const { m, h, rid, p, dsm } = w;
    const image = await connectedTd(w);
    for (const f of image) assert.deepEqual(ownerOf(p.hw.memory, f), { kind: 'private', vm: TD });
    assert.equal(p.tsm.vms.get(TD)?.finalized, true);
    assert.equal(records(w).tds.get(TD), true);

    // Bind: the DEVIF and the host's LOCK.
    const bind = await pciTsmBind(m, h, { rid, vm: TD, vdevId: VDEV_ID });
    ok(bind);
    assert.deepEqual(calls(bind.events), [
      'TDH.DEVIF.CREATE',
      'TDH.DEVIF.REQUEST',
      'TDH.DEVIF.RESPONSE',
    ]);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
    assert.equal(p.tsm.tdis.get(rid)?.state, 'CONFIG_LOCKED');
    assert.equal(p.vendor.devifs.get(rid)?.td, TD);
    assert.equal(records(w).devifs.get(rid)?.tdisp, 'locked');
    // Unbinding a TDI the driver has not stopped would pull it from under the TD.
    await refusedAll(w, 'EBUSY', () => pciTsmUnbind(m, h, { rid }));
    ok(await pciTsmStop(m, h, { rid }));
    ok(await pciTsmUnbind(m, h, { rid }));
    assert.equal(p.vendor.devifs.size, 0);
    assert.equal(p.tsm.tdis.has(rid), false);

    const { gfns, pfns } = await toRun(w);
    assert.equal(p.tsm.tdis.get(rid)?.state, 'RUN');
    assert.equal(
      p.hw.iommu.secure.get(rid)?.vm,
      TD,
      'the module programmed the trusted DMA context',
    );
    assert.equal(records(w).mmio.get(TD)?.size, gfns.length);
    assert.deepEqual([...records(w).mmiomt.keys()], pfns);
    assert.equal(records(w).devifs.get(rid)?.dma, true);

    // The TD writes its data through T=1 MMIO; it reaches the device.
    const secret = new Uint8Array([0xca, 0xfe, 0xf0, 0x0d]);
    const wr = tdAccess(w, gfns[0], secret);
    assert.equal(wr.result.status, 'SC');
    const { bar, offset } = barOffset(w, pfns[0]);
    const seen = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: true });
    assert.deepEqual(seen.status === 'SC' && [...seen.data], [...secret]);

    // TDX's order: STOP, then KVM unmaps, then the TSM frees its records.
    const stop = await pciTsmStop(m, h, { rid });
    ok(stop);
    assert.deepEqual(calls(stop.events), ['TDH.DEVIF.REQUEST', 'TDH.DEVIF.RESPONSE']);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(p.tsm.tdis.get(rid)?.state, 'CONFIG_UNLOCKED');
    // Still mapped: the unbind waits for KVM.
    await refusedAll(w, 'EBUSY', () => pciTsmUnbind(m, h, { rid }));
    for (const gfn of gfns) {
      const u = await D.unmapPrivateMmio(m, h, { vm: TD, gfn });
      ok(u);
      assert.deepEqual(calls(u.events), ['TDH.MMIO.BLOCK', 'TDH.MEM.TRACK', 'TDH.MMIO.UNMAP']);
    }
    assert.equal(records(w).mmio.size, 0);
    const unbind = await pciTsmUnbind(m, h, { rid });
    ok(unbind);
    assert.deepEqual(calls(unbind.events), [
      'TDH.DMAR.BLOCK',
      'TDH.DMAR.REMOVE',
      ...pfns.map(() => 'TDH.MMIOMT.REMOVE'),
      'TDH.DEVIF.REMOVE',
    ]);
    assert.equal(p.tsm.tdis.has(rid), false);
    assert.equal(h.pciTsm.devices.get(dsm)?.bound.size, 0);

    // The TD's memory goes back to the host, scrubbed; then the device and the TD go.
    for (const [i, f] of image.entries()) {
      ok(await D.unmapPrivatePage(m, h, { vm: TD, gfn: IMAGE_GFN + BigInt(i) }));
      assert.deepEqual(ownerOf(p.hw.memory, f), { kind: 'shared' });
    }
    ok(await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM }));
    const destroy = await D.vmDestroy(m, h, TD);
    ok(destroy);
    assert.deepEqual(calls(destroy.events), ['TDH.PHYMEM.PAGE.RECLAIM']);

    noPrivateMmio(w);
    assert.equal(p.hw.iommu.secure.has(rid), false);
    assert.equal(p.hw.septs.has(TD), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    const after = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: false });
    assert.ok(after.status === 'SC' && after.data.every((b) => b === 0), 'scrubbed');
    assert.deepEqual(
      { ...records(w) },
      { devices: new Map(), tds: new Map(), devifs: new Map(), mmiomt: new Map(), mmio: new Map() },
    );
  });

  it('a private page: the TD with pages mapped cannot go; block, track, remove; -EINVAL for what is not mapped', async () => {
    const w = await tdxWorld('tdx pages');
    const { m, h } = w;
    const image = await connectedTd(w);
    await refusedAll(w, 'EBUSY', () => D.vmDestroy(m, h, TD));
    // Already mapped there: the module's EPT entry is not free.
    await refusedAll(w, 'EEXIST', () =>
      D.mapPrivatePage(m, h, { vm: TD, gfn: IMAGE_GFN, hpfn: image[2] + 1n }),
    );
    await refusedAll(w, 'EINVAL', () => D.unmapPrivatePage(m, h, { vm: TD, gfn: 0x9999n }));
    await refusedAll(w, 'EINVAL', () => D.vmFinalize(m, h, TD));
    await refusedAll(w, 'EINVAL', () =>
      D.mapPrivatePage(m, h, { vm: 'td-unknown', gfn: 1n, hpfn: image[2] + 1n }),
    );
    const u = await D.unmapPrivatePage(m, h, { vm: TD, gfn: IMAGE_GFN + 2n });
    ok(u);
    assert.deepEqual(calls(u.events), [
      'TDH.MEM.RANGE.BLOCK',
      'TDH.MEM.TRACK',
      'TDH.MEM.PAGE.REMOVE',
    ]);
    assert.deepEqual(ownerOf(w.p.hw.memory, image[2]), { kind: 'shared' });
  });
});

describe('TDX host driver: the module against the host', () => {
  it('unmapping under the running TD is refused (-EBUSY), and the TD keeps its MMIO', async () => {
    const w = await tdxWorld('tdx unmap under running');
    const { m, h, rid } = w;
    await connectedTd(w);
    const { gfns } = await toRun(w);
    const o = await refusedAll(w, 'EBUSY', () =>
      D.unmapPrivateMmio(m, h, { vm: TD, gfn: gfns[0] }),
    );
    assert.ok(!o.ok && /stop it first/.test(o.detail));
    assert.deepEqual(calls(o.events), [], 'refused before the block');
    // The TD did not lose its page: T=1 MMIO still reaches the device.
    assert.equal(tdAccess(w, gfns[0], new Uint8Array([1, 2, 3, 4])).result.status, 'SC');
    const rd = tdAccess(w, gfns[0]);
    assert.equal(rd.result.status, 'SC');

    // A host that skips the driver and blocks, tracks and unmaps itself: the module refuses
    // the unmap while the TDI runs and its stream is not blocked, and the entry stays.
    for (const [call, args] of [
      ['TDH.MMIO.BLOCK', { td: TD, gfn: gfns[1] }],
      ['TDH.MEM.TRACK', { td: TD }],
    ] as const) {
      assert.equal((await m.firmware(call, args)).ok, true, call);
    }
    const un = await m.firmware('TDH.MMIO.UNMAP', { td: TD, gfn: gfns[1] });
    assert.equal(un.status, 'TDX_DEVIF_TDISP_INVALID_STATE');
    assert.equal(tdxErrno(un.status), 'EBUSY');
    assert.equal(w.p.tsm.tdis.get(rid)?.mmio.size, gfns.length);
    assert.equal(w.p.tsm.tdis.get(rid)?.state, 'RUN');

    // Once stopped the same unmap goes through (the block already made is a warning).
    ok(await pciTsmStop(m, h, { rid }));
    for (const gfn of gfns) ok(await D.unmapPrivateMmio(m, h, { vm: TD, gfn }));
    ok(await pciTsmUnbind(m, h, { rid }));
    noPrivateMmio(w);
    assert.equal(w.p.hw.iommu.secure.has(rid), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
  });

  it('private MMIO for a TDI bound to another TD: TDH.MMIO.MAP refused (-EINVAL), the table entry taken out again', async () => {
    const w = await tdxWorld('tdx other td');
    const { m, h, rid } = w;
    await connectedTd(w);
    ok(await D.vmCreate(m, h, 'td2'));
    ok(await D.vmFinalize(m, h, 'td2'));
    const { gfns, pfns } = await toRun(w);
    ok(await pciTsmStop(m, h, { rid }));
    ok(await D.unmapPrivateMmio(m, h, { vm: TD, gfn: gfns[0] }));
    const o = await refusedAll(w, 'EINVAL', () =>
      D.mapPrivateMmio(m, h, { vm: 'td2', gfn: 0x800n, pfn: pfns[0], rid }),
    );
    const failed = o.events.find((e) => e.kind === 'abi' && !e.ok);
    assert.ok(failed?.kind === 'abi');
    assert.equal(failed.call, 'TDH.MMIO.MAP');
    assert.equal(failed.status, 'TDX_MMIO_DEVIF_OWNER_MISMATCH');
    // The page was entered for this DEVIF at the first map: only the map was tried.
    assert.deepEqual(calls(o.events), ['TDH.MMIO.MAP']);
    assert.equal(w.p.vendor.mmiomt.get(pfns[0])?.devif, rid);
    assert.equal(pfnCount(w.p.hw.septs.get('td2')?.entries ?? {}), 0);
    for (const gfn of gfns.slice(1)) ok(await D.unmapPrivateMmio(m, h, { vm: TD, gfn }));
    ok(await pciTsmUnbind(m, h, { rid }));
    noPrivateMmio(w);
  });

  it('a page the driver has not entered: MMIOMT added and set, the refused map takes it out again', async () => {
    const w = await tdxWorld('tdx mmiomt unwind');
    const { m, h, rid } = w;
    await connectedTd(w);
    ok(await D.vmCreate(m, h, 'td2'));
    ok(await pciTsmBind(m, h, { rid, vm: TD, vdevId: VDEV_ID }));
    const bar0 = m.barAddress(rid, 0);
    assert.ok(bar0);
    const pfn = bar0.base >> 12n;
    const o = await refusedAll(w, 'EINVAL', () =>
      D.mapPrivateMmio(m, h, { vm: 'td2', gfn: 0x800n, pfn, rid }),
    );
    assert.deepEqual(calls(o.events), [
      'TDH.MMIOMT.ADD',
      'TDH.MMIOMT.SET',
      'TDH.MMIO.MAP',
      'TDH.MMIOMT.REMOVE',
    ]);
    assert.equal(w.p.vendor.mmiomt.size, 0);
    // Bound elsewhere at the core: the page of a TDI the driver has no DEVIF for is the
    // module's to refuse (no table entry).
    const other = await refusedAll(w, 'EINVAL', () =>
      D.mapPrivateMmio(m, h, { vm: TD, gfn: 0x800n, pfn, rid: rid + 1 }),
    );
    assert.deepEqual(calls(other.events), ['TDH.MMIO.MAP']);
  });

  it('bind errors: no TD, not connected, twice; the LOCK refused takes the DEVIF out again', async () => {
    const w = await tdxWorld('tdx bind errors');
    const { m, h, rid, dsm } = w;
    const bind =
      (vm = TD) =>
      () =>
        pciTsmBind(m, h, { rid, vm, vdevId: VDEV_ID });
    await refusedAll(w, 'ENXIO', bind());
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    // No such TD: TDH.DEVIF.CREATE refuses the operand.
    const noTd = await refusedAll(w, 'EINVAL', bind('td-none'));
    assert.deepEqual(calls(noTd.events), ['TDH.DEVIF.CREATE']);
    ok(await D.vmCreate(m, h, TD));
    // Twice: the core's record, and the driver's own DEVIF if the core is bypassed.
    ok(await bind()());
    await refusedAll(w, 'EBUSY', bind());
    await refusedAll(w, 'EBUSY', () => D.bind(m, h, { rid, vm: TD, vdevId: VDEV_ID }));
    ok(await pciTsmStop(m, h, { rid }));
    ok(await pciTsmUnbind(m, h, { rid }));
    // The device's mailbox fails during LOCK: the DEVIF goes again, nothing is left.
    const mailbox = w.carriers.get(dsm);
    assert.ok(mailbox);
    w.carriers.set(dsm, {
      binding: mailbox.binding,
      exchange: async () => {
        throw new TransportError('timeout', 'DOE mailbox: no response');
      },
      close: async () => undefined,
    });
    // The engine drops a session whose exchange failed (platform/tsm/link.ts), so the link
    // record changes; every other record is as before the bind.
    const without = () => {
      const { links: _links, ...tsm } = w.p.tsm;
      return canonicalHash({ h: w.h, tsm, vendor: w.p.vendor });
    };
    const beforeLock = without();
    const lock = await bind()();
    assert.ok(!lock.ok && lock.errno === 'EIO');
    assert.equal(without(), beforeLock, 'EIO: records other than the link changed');
    assert.deepEqual(calls(lock.events), [
      'TDH.DEVIF.CREATE',
      'TDH.DEVIF.REQUEST',
      'TDH.DEVIF.RESPONSE',
      'TDH.DEVIF.REMOVE',
    ]);
    assert.equal(w.p.vendor.devifs.size, 0);
  });

  it('guest requests: scope against the request, nothing asked, another TD; stop twice is one STOP', async () => {
    const w = await tdxWorld('tdx guest req');
    const { m, h, rid } = w;
    await connectedTd(w);
    ok(await pciTsmBind(m, h, { rid, vm: TD, vdevId: VDEV_ID }));
    await tdOk(w, 'TDG.DEVIF.VALIDATE', { devInfoHash: devInfoHash(w.dev) });
    const report = { name: 'GET_DEVICE_INTERFACE_REPORT' };
    await refusedAll(w, 'EOPNOTSUPP', () =>
      guestReq(w, { scope: 'info', message: { name: 'LOCK_INTERFACE_REQUEST' } }),
    );
    await refusedAll(w, 'EOPNOTSUPP', () => guestReq(w, { scope: 'debug-read', message: report }));
    await refusedAll(w, 'EINVAL', () => guestReq(w, { scope: 'state-change', message: report }));
    // The TD asked for nothing: the module has no request to generate.
    const none = await refusedAll(w, 'EINVAL', () =>
      guestReq(w, { scope: 'info', message: report }),
    );
    assert.deepEqual(calls(none.events), ['TDH.DEVIF.REQUEST']);
    await refusedAll(w, 'EPERM', () => guestReq(w, { scope: 'info', message: report }, 'td2'));
    // The TD asks for its report; the host relays it; the TD reads it.
    const r = await tdRequest(w, 'GET_DEVICE_INTERFACE_REPORT', 'info');
    assert.ok(r.value instanceof Uint8Array);
    assert.equal((await tdcall(w, 'TDG.DEVIF.RESPONSE')).status, 'TDX_DEVIF_TDISP_INVALID_REQ_STS');

    ok(await pciTsmStop(m, h, { rid }));
    const again = await pciTsmStop(m, h, { rid });
    ok(again);
    assert.deepEqual(calls(again.events), []);
    ok(await pciTsmUnbind(m, h, { rid }));
    await refusedAll(w, 'ENXIO', () => pciTsmStop(m, h, { rid }));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
  });
});
