/**
 * The SEV TSM host driver through the PCI/TSM core: tsm/connect and tsm/disconnect as
 * TIO_DEV_* commands with their errnos, the host half of a TDI's life with an SNP guest
 * (guest contexts, RMPUPDATE, TIO_TDI_*), the guest's messages relayed, and what the PSP
 * does to a host that takes a BAR page from a running guest: the guest's ASID is fenced and
 * the guest sees all ones. Every refusal leaves the host's records and the platform's as
 * they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmDisconnect,
  pciTsmGuestReq,
  pciTsmStop,
  pciTsmUnbind,
} from '../../../src/host/pci-tsm/core.ts';
import type { SevDriverRecords } from '../../../src/host/tsm/sev/index.ts';
import type { AbiArg } from '../../../src/platform/abi.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { ownerOf } from '../../../src/platform/memory.ts';
import { pfnValues } from '../../../src/platform/pfn-table.ts';
import { asidFenced } from '../../../src/platform/sev/fence.ts';
import { canonical, sealTag } from '../../../src/platform/sev/guest-abi.ts';
import { tdiRunning } from '../../../src/platform/tsm/state.ts';
import { droppingCarrier } from '../../platform/sev/world.ts';
import { ok, refused } from '../world.ts';
import {
  connectedGuest,
  D,
  GPA_MMIO,
  GUEST_BDF,
  guestOf,
  guestRead,
  guestWrite,
  LATE_GFN,
  RAM_GFN,
  relay,
  replyOk,
  SDTE,
  type SevHostWorld,
  sealed,
  sevHostWorld,
  teeRanges,
  toRun,
  VM,
  VM2,
} from './sev-world.ts';

const records = (w: SevHostWorld) => w.h.tsmDriver.sev as SevDriverRecords;
const calls = (events: { kind: string }[]) =>
  events.flatMap((e) => ('call' in e && e.kind === 'abi' ? [e.call as string] : []));
/** The PSP commands of an operation, without the SPDM_REQUEST round trips. */
const commands = (events: { kind: string }[]) =>
  calls(events.filter((e) => !('status' in e) || e.status !== 'SEV_RET_SPDM_REQUEST'));

/** Why a refused outcome was refused. */
const detail = (o: { ok: boolean }) => ('detail' in o ? String(o.detail) : 'succeeded');

/** No live secure-EPT MMIO entry and no trusted DMA context of the TDI is left. */
function nothingPrivateLeft(w: SevHostWorld): void {
  for (const sept of w.p.hw.septs.values()) {
    for (const e of pfnValues(sept.entries)) {
      assert.ok(e.target.kind !== 'mmio' || e.state === 'removed', 'no live MMIO entry');
    }
  }
  assert.equal(w.p.hw.iommu.secure.has(w.rid), false, 'no trusted DMA context');
  assert.equal(w.p.tsm.tdis.get(w.rid)?.mmio.size ?? 0, 0);
}

describe('SEV host driver: tsm/connect and tsm/disconnect', () => {
  it('connects with TIO_DEV_CREATE and TIO_DEV_CONNECT; the sysfs errnos change nothing', async () => {
    const w = await sevHostWorld('sev connect');
    const { m, h, dsm } = w;
    const connect = (tsm: string) => () => pciTsmConnect(m, h, { dsm, tsm });
    const disconnect = (tsm: string) => () => pciTsmDisconnect(m, h, { dsm, tsm });
    await refused(w, 'EINVAL', connect('foo'));
    await refused(w, 'ENXIO', connect('tsm1'));
    await refused(w, 'ENXIO', disconnect(LINK_TSM));

    const c = await connect(LINK_TSM)();
    ok(c);
    assert.deepEqual(commands(c.events), ['TIO_DEV_CREATE', 'TIO_DEV_CONNECT']);
    assert.ok(calls(c.events).length > 2, 'the SPDM_REQUEST loop went through the DOE mailbox');
    assert.equal(c.events.at(-1)?.kind, 'uapi');
    assert.equal(w.p.tsm.devices.get(dsm)?.phase, 'connected');
    assert.equal(w.p.tsm.devices.get(dsm)?.stream?.state, 'secure');
    assert.deepEqual(w.p.vendor.devs.get(dsm)?.ideStreamIds, [0]);
    assert.deepEqual(records(w).devs.get(dsm), { dev: dsm, streamId: 0 });

    await refused(w, 'EBUSY', connect(LINK_TSM));
    await refused(w, 'EINVAL', disconnect('tsm1'));

    // While a TDI is bound the device stays connected.
    await connectedGuest(w);
    ok(await pciTsmBind(m, h, { rid: w.rid, vm: VM, vdevId: GUEST_BDF }));
    await refused(w, 'EBUSY', disconnect(LINK_TSM));
    ok(await pciTsmStop(m, h, { rid: w.rid }));
    ok(await pciTsmUnbind(m, h, { rid: w.rid }));

    const d = await disconnect(LINK_TSM)();
    ok(d);
    assert.deepEqual(commands(d.events), ['TIO_DEV_DISCONNECT', 'TIO_DEV_RECLAIM']);
    assert.equal(w.p.tsm.devices.has(dsm), false);
    assert.equal(w.p.vendor.devs.size, 0);
    assert.equal(records(w).devs.size, 0);
    assert.equal(h.pciTsm.devices.has(dsm), false);
    // Connected again from scratch.
    ok(await connect(LINK_TSM)());
  });

  it('a device context the host does not know of is in use: -EBUSY, the PSP left as it was', async () => {
    const w = await sevHostWorld('sev stray dev');
    const { m, h, dsm } = w;
    const stray = await m.firmware('TIO_DEV_CREATE', {
      deviceId: dsm,
      rootPortId: 0,
      segmentId: 0,
    });
    assert.equal(stray.ok, true);
    const o = await refused(w, 'EBUSY', () => pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.deepEqual(commands(o.events), ['TIO_DEV_CREATE']);
  });
});

describe('SEV host driver: a device that does not answer', () => {
  it('connect is -EIO and the device context is reclaimed, nothing left', async () => {
    const w = await sevHostWorld('sev silent connect');
    const { m, h, dsm } = w;
    const carrier = w.carriers.get(dsm);
    assert.ok(carrier);
    w.carriers.set(dsm, droppingCarrier(carrier.binding));
    const o = await refused(w, 'EIO', () => pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.deepEqual(commands(o.events), ['TIO_DEV_CREATE', 'TIO_DEV_CONNECT', 'TIO_DEV_RECLAIM']);
    assert.equal(w.p.vendor.devs.size, 0);
    assert.equal(h.tsmDriver.sev, undefined, 'no record written');
    w.carriers.set(dsm, carrier);
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
  });

  it('stop and disconnect go through by FORCE once the device went silent', async () => {
    const w = await sevHostWorld('sev silent stop');
    const { m, h, dsm, rid } = w;
    await connectedGuest(w);
    ok(await pciTsmBind(m, h, { rid, vm: VM, vdevId: GUEST_BDF }));
    const carrier = w.carriers.get(dsm);
    assert.ok(carrier);
    w.carriers.set(dsm, droppingCarrier(carrier.binding));
    const s = await pciTsmStop(m, h, { rid });
    ok(s);
    assert.deepEqual(commands(s.events), ['TIO_TDI_UNBIND', 'TIO_TDI_UNBIND', 'TIO_TDI_STATUS']);
    // The PSP could not STOP the device: it no longer trusts the TDI (ERROR), but nothing
    // private of it is left and the host learnt no state.
    assert.equal(w.p.tsm.tdis.get(rid)?.state, 'ERROR');
    assert.equal(records(w).tdis.get(rid)?.tdispState, undefined);
    nothingPrivateLeft(w);
    ok(await pciTsmUnbind(m, h, { rid }));
    const d = await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM });
    ok(d);
    const disconnects = d.events.flatMap((e) =>
      e.kind === 'abi' && e.call === 'TIO_DEV_DISCONNECT' ? [[e.status, e.args.force]] : [],
    );
    assert.deepEqual(disconnects, [
      ['SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN', false],
      ['SEV_RET_SUCCESS', true],
    ]);
    assert.equal(w.p.tsm.devices.size, 0);
    assert.equal(records(w).devs.size, 0);
  });
});

describe('SEV host driver: a TDI from connect to RUN and back', () => {
  it('guest context, RAM, bind, relayed messages, private MMIO, RUN; then stop, unmap, unbind, disconnect', async () => {
    const w = await sevHostWorld('sev lifecycle');
    const { m, h, rid, dsm } = w;
    const ram = await connectedGuest(w);
    const g = guestOf(w);
    assert.equal(g.asid, 1);
    const ctx = w.p.vendor.guests.get(g.gctx);
    assert.deepEqual(
      { ...ctx, vmpck: undefined },
      {
        gctx: g.gctx,
        vm: g.firmwareVm,
        asid: 1,
        msgSeq: 0,
        vmpck: undefined,
      },
    );
    // The firmware made the guest's VMPCK at launch; none of the host's records holds it.
    assert.match(ctx?.vmpck ?? '', /^[0-9a-f]{64}$/);
    assert.ok(!canonical(h).includes(ctx?.vmpck ?? '-'));
    assert.equal(w.p.tsm.vms.get(g.firmwareVm)?.finalized, true);
    assert.deepEqual(ownerOf(w.p.hw.memory, ram[0]), { kind: 'private', vm: g.firmwareVm });

    const gfns = await toRun(w);
    assert.equal(w.p.tsm.tdis.get(rid)?.vm, g.firmwareVm);
    assert.equal(w.p.tsm.tdis.get(rid)?.dma, 'accepted');
    assert.equal(w.p.hw.iommu.secure.has(rid), true);
    assert.equal(records(w).tdis.get(rid)?.trustedDma, true);
    assert.deepEqual(records(w).tdis.get(rid)?.report, w.p.tsm.tdis.get(rid)?.report?.bytes);

    // The guest's data in its private MMIO, T=1; the host cannot reach the page.
    const SECRET = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    const first = teeRanges(w)[0].base;
    assert.equal(guestWrite(w, GPA_MMIO, SECRET).result.status, 'SC');
    assert.deepEqual(guestRead(w, GPA_MMIO).result, { status: 'SC', data: SECRET });
    assert.notEqual(m.mmioRead(first, 4).result.status, 'SC');

    // stop: TIO_TDI_UNBIND refused while RUN, forced; the TDI is CONFIG_UNLOCKED, scrubbed.
    const s = await pciTsmStop(m, h, { rid });
    ok(s);
    assert.deepEqual(commands(s.events), ['TIO_TDI_UNBIND', 'TIO_TDI_UNBIND', 'TIO_TDI_STATUS']);
    const unbinds = s.events.flatMap((e) =>
      e.kind === 'abi' && e.call === 'TIO_TDI_UNBIND' && e.status !== 'SEV_RET_SPDM_REQUEST'
        ? [[e.status, e.args.force]]
        : [],
    );
    assert.deepEqual(unbinds, [
      ['SEV_RET_IN_USE', false],
      ['SEV_RET_SUCCESS', true],
    ]);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(records(w).tdis.get(rid)?.tdispState, 'CONFIG_UNLOCKED');
    // Taking a running TDI fences the guest's ASID until the unbind clears it.
    assert.equal(asidFenced(w.p, g.firmwareVm), true);
    assert.deepEqual(m.mmioRead(first, 4).result, { status: 'SC', data: new Uint8Array(4) });
    nothingPrivateLeft(w);

    // KVM drops the BAR pages from its mirror: the stop gave them back already.
    for (const gfn of gfns) {
      const u = await D.unmapPrivateMmio(m, h, { vm: VM, gfn });
      ok(u);
      assert.deepEqual(commands(u.events), []);
    }
    assert.equal(records(w).guests.get(VM)?.mmio.size, 0);

    const u = await pciTsmUnbind(m, h, { rid });
    ok(u);
    assert.deepEqual(commands(u.events), [
      'TIO_TDI_RECLAIM',
      'TIO_ASID_FENCE_STATUS',
      'TIO_ASID_FENCE_CLEAR',
    ]);
    assert.equal(asidFenced(w.p, g.firmwareVm), false);
    assert.equal(w.p.vendor.tdis.has(rid), false);
    assert.equal(w.p.tsm.tdis.has(rid), false);
    assert.equal(records(w).tdis.size, 0);
    nothingPrivateLeft(w);

    // The guest goes: its RAM back to the host scrubbed, then its context.
    const busy = await refused(w, 'EBUSY', () => D.vmDestroy(m, h, VM));
    assert.match(detail(busy), /SEV_RET_INVALID_PAGE_STATE/, 'pages still assigned');
    for (const gfn of [RAM_GFN, RAM_GFN + 1n, LATE_GFN]) {
      ok(await D.unmapPrivatePage(m, h, { vm: VM, gfn }));
    }
    assert.deepEqual(ownerOf(w.p.hw.memory, ram[0]), { kind: 'shared' });
    await refused(w, 'ENOENT', () => D.unmapPrivatePage(m, h, { vm: VM, gfn: RAM_GFN }));
    ok(await D.vmDestroy(m, h, VM));
    assert.equal(w.p.vendor.guests.size, 0);
    assert.equal(records(w).guests.size, 0);

    ok(await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(w.p.tsm.devices.size, 0);
  });

  it('a guest message in the wrong scope, malformed, unknown or from another VM is refused', async () => {
    const w = await sevHostWorld('sev guest req');
    const { m, h, rid } = w;
    await connectedGuest(w);
    await connectedGuest(w, VM2);
    ok(await pciTsmBind(m, h, { rid, vm: VM, vdevId: GUEST_BDF }));
    const info = { type: 'TIO_MSG_TDI_INFO_REQ' };
    await refused(w, 'EINVAL', () => relay(w, 'state-change', info));
    await refused(w, 'EOPNOTSUPP', () => relay(w, 'info', { type: 'TIO_MSG_MMIO_CONFIG_REQ' }));
    await refused(w, 'EINVAL', () =>
      relay(w, 'state-change', { type: 'TIO_MSG_SDTE_WRITE_REQ', v: 1 }),
    );
    await refused(w, 'EPERM', () => relay(w, 'info', info, { vm: VM2 }));
    // A message sealed by another guest does not open under this guest's context.
    const other = guestOf(w, VM2).gctx;
    await refused(w, 'EINVAL', () => relay(w, 'info', { ...info, gctx: other }));
    // A message the PSP answers with the guest's own error status: the relay succeeded.
    const r = await relay(w, 'state-change', {
      type: 'TIO_MSG_MMIO_VALIDATE_REQ',
      subrangeBase: GPA_MMIO,
      subrangePageCount: 1,
      rangeOffset: 0,
      rangeId: teeRanges(w)[0].rangeId,
      validated: true,
    });
    replyOk(r, 'MMIO_VALIDATE_NOT_ASSIGNED');
  });
});

describe('SEV host driver: the guest messages are sealed with the guest VMPCK', () => {
  const sdte = { type: 'TIO_MSG_SDTE_WRITE_REQ', ...SDTE };
  /** The host hands the PSP `message` as if the guest had sent it. */
  const inject = (w: SevHostWorld, message: Record<string, AbiArg>) =>
    pciTsmGuestReq(w.m, w.h, { rid: w.rid, vm: VM, request: { scope: 'state-change', message } });
  const notRunning = (w: SevHostWorld) => {
    assert.equal(tdiRunning(w.p.tsm, w.rid), false);
    assert.equal(w.p.vendor.tdis.get(w.rid)?.sdte, undefined);
  };

  it('a TIO_MSG the host made (the guest context it knows added, no tag of the guest) is refused and changes nothing', async () => {
    const w = await sevHostWorld('sev seal forged');
    await connectedGuest(w);
    ok(await pciTsmBind(w.m, w.h, { rid: w.rid, vm: VM, vdevId: GUEST_BDF }));
    const { gctx } = guestOf(w);
    const forged = { ...sdte, gctx, guestDeviceId: GUEST_BDF };
    const seq = (w.p.vendor.guests.get(gctx)?.msgSeq ?? 0) + 1;
    for (const message of [forged, { ...forged, seq, tag: '00'.repeat(32) }]) {
      const r = await refused(w, 'EIO', () => inject(w, message));
      assert.match(r.ok ? '' : r.detail, /SEV_RET_BAD_SIGNATURE.*does not authenticate/);
    }
    // Nor under a key of its own: the VMPCK is the firmware's and the guest's only.
    const own = { ...forged, seq, tag: sealTag('11'.repeat(32), seq, forged) };
    await refused(w, 'EIO', () => inject(w, own));
    notRunning(w);
    // The guest's own message, sealed, goes through: the TDI runs.
    replyOk(await relay(w, 'state-change', sdte), 'SDTE_WRITE_SUCCESS');
    assert.equal(tdiRunning(w.p.tsm, w.rid), true);
  });

  it("a field the host changed in the guest's sealed message is refused and changes nothing", async () => {
    const w = await sevHostWorld('sev seal tampered');
    await connectedGuest(w);
    ok(await pciTsmBind(w.m, w.h, { rid: w.rid, vm: VM, vdevId: GUEST_BDF }));
    const m = sealed(w, sdte);
    const changes: Record<string, AbiArg>[] = [{ vtom: 0x7fffffff }, { vmpl: 3 }, { seq: 3 }];
    for (const change of changes) {
      const r = await refused(w, 'EIO', () => inject(w, { ...m, ...change }));
      assert.match(r.ok ? '' : r.detail, /SEV_RET_BAD_SIGNATURE.*does not authenticate/);
    }
    notRunning(w);
    replyOk(await inject(w, m), 'SDTE_WRITE_SUCCESS');
  });

  it("a replayed guest message fails the sequence check and changes nothing; the guest's next one passes", async () => {
    const w = await sevHostWorld('sev seal replay');
    await connectedGuest(w);
    ok(await pciTsmBind(w.m, w.h, { rid: w.rid, vm: VM, vdevId: GUEST_BDF }));
    const enable = sealed(w, sdte);
    const disable = sealed(w, { ...sdte, v: false, ir: false, iw: false, vtomEn: false, vtom: 0 });
    replyOk(await inject(w, enable), 'SDTE_WRITE_SUCCESS');
    // A later message of the same number (the guest's other message, prepared alongside) and
    // the first one again are both out of sequence.
    for (const again of [disable, enable]) {
      const r = await refused(w, 'EIO', () => inject(w, again));
      assert.match(r.ok ? '' : r.detail, /SEV_RET_BAD_SIGNATURE.*sequence number 1, expected 3/);
    }
    assert.equal(w.p.vendor.tdis.get(w.rid)?.sdte?.v, true);
    replyOk(await relay(w, 'info', { type: 'TIO_MSG_TDI_INFO_REQ' }), 'TDI_INFO_SUCCESS');
  });
});

describe('SEV host driver: what the PSP does to a host that takes from a running guest', () => {
  it('unmapping private MMIO under RUN fences the ASID: the guest reads all ones; unbind clears it', async () => {
    const w = await sevHostWorld('sev revoke first');
    const { m, h, rid } = w;
    await connectedGuest(w);
    const gfns = await toRun(w);
    const g = guestOf(w);
    assert.equal(guestRead(w, GPA_MMIO).result.status, 'SC');

    // VFIO revokes first: KVM unmaps the BAR pages while the TDI is RUN. The PSP does not
    // refuse: it fences the whole ASID.
    const u = await D.unmapPrivateMmio(m, h, { vm: VM, gfn: gfns[0] });
    ok(u);
    assert.deepEqual(commands(u.events), ['RMPUPDATE']);
    const fs = await m.firmware('TIO_ASID_FENCE_STATUS', { dev: w.dsm, asid: g.asid });
    assert.deepEqual(fs.value, { status: 0b1101, fenced: true });
    // The guest learns of it: its reads of the TDI return all ones, its writes are dropped.
    const rd = guestRead(w, GPA_MMIO + BigInt(gfns.length > 1 ? 0x1000 : 0));
    assert.notEqual(rd.result.status, 'SC');
    assert.deepEqual(rd.result.data, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    assert.equal(w.p.tsm.tdis.get(rid)?.dma, 'blocked', 'the fence stops trusted DMA');

    for (const gfn of gfns.slice(1)) ok(await D.unmapPrivateMmio(m, h, { vm: VM, gfn }));
    ok(await pciTsmStop(m, h, { rid }));
    ok(await pciTsmUnbind(m, h, { rid }));
    assert.equal(asidFenced(w.p, g.firmwareVm), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    nothingPrivateLeft(w);
  });

  it('unmapping a private RAM page under RUN fences the ASID too', async () => {
    const w = await sevHostWorld('sev ram under run');
    const { m, h } = w;
    const ram = await connectedGuest(w);
    await toRun(w);
    ok(await D.unmapPrivatePage(m, h, { vm: VM, gfn: RAM_GFN }));
    assert.deepEqual(ownerOf(w.p.hw.memory, ram[0]), { kind: 'shared' }, 'scrubbed back');
    assert.equal(asidFenced(w.p, guestOf(w).firmwareVm), true);
    assert.deepEqual(guestRead(w, GPA_MMIO).result.data, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  });
});

describe('SEV host driver: bind and private MMIO refusals', () => {
  it('bind without a guest context, or with one the PSP no longer has, changes nothing', async () => {
    const w = await sevHostWorld('sev bind errors');
    const { m, h, rid, dsm } = w;
    const bind = (vm: string) => () => pciTsmBind(m, h, { rid, vm, vdevId: GUEST_BDF });
    await refused(w, 'ENXIO', bind(VM));
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    const none = await refused(w, 'EINVAL', bind('kvm-vm-9'));
    assert.deepEqual(commands(none.events), []);
    assert.match(detail(none), /not an SNP guest/);

    await connectedGuest(w);
    // The guest context gone behind the driver's back: TIO_TDI_BIND refuses and the TDI
    // context created for it is reclaimed.
    const { gctx } = guestOf(w);
    for (const k of [0n, 1n]) ok(await D.unmapPrivatePage(m, h, { vm: VM, gfn: RAM_GFN + k }));
    assert.equal((await m.firmware('SNP_DECOMMISSION', { gctx })).ok, true);
    const gone = await refused(w, 'EINVAL', bind(VM));
    assert.deepEqual(commands(gone.events), ['TIO_TDI_CREATE', 'TIO_TDI_BIND', 'TIO_TDI_RECLAIM']);
    assert.match(detail(gone), /SEV_RET_INVALID_GUEST/);
    assert.equal(w.p.vendor.tdis.size, 0);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
  });

  it('a second bind under the same guest BDF is refused by the PSP', async () => {
    const w = await sevHostWorld('sev bdf twice');
    const { m, h } = w;
    await connectedGuest(w);
    const [a, b] = w.dev.tdis();
    ok(await pciTsmBind(m, h, { rid: a.requesterId, vm: VM, vdevId: GUEST_BDF }));
    const o = await refused(w, 'EINVAL', () =>
      pciTsmBind(m, h, { rid: b.requesterId, vm: VM, vdevId: GUEST_BDF }),
    );
    assert.match(detail(o), /SEV_RET_INVALID_PARAM/);
    assert.equal(w.dev.dsm.tdiState(b.fn), 'CONFIG_UNLOCKED');
  });

  it('mapping private MMIO of a TDI bound to another VM is refused (-EFAULT), nothing mapped', async () => {
    const w = await sevHostWorld('sev mmio other vm');
    const { m, h, rid } = w;
    await connectedGuest(w);
    await connectedGuest(w, VM2);
    ok(await pciTsmBind(m, h, { rid, vm: VM2, vdevId: GUEST_BDF }));
    const pfn = teeRanges(w)[0].base >> PAGE_SHIFT;
    const gfn = GPA_MMIO >> PAGE_SHIFT;
    const o = await refused(w, 'EFAULT', () => D.mapPrivateMmio(m, h, { vm: VM, gfn, pfn, rid }));
    assert.deepEqual(commands(o.events), ['RMPUPDATE']);
    assert.match(detail(o), /RMPUPDATE_FAIL_INPUT/);
    // A page outside the TDI's BARs never reaches the PSP.
    const far = await refused(w, 'EINVAL', () =>
      D.mapPrivateMmio(m, h, { vm: VM2, gfn, pfn: pfn + (1n << 20n), rid }),
    );
    assert.deepEqual(commands(far.events), []);
    // The VM it is bound to gets it; twice is -EEXIST.
    ok(await D.mapPrivateMmio(m, h, { vm: VM2, gfn, pfn, rid }));
    await refused(w, 'EEXIST', () => D.mapPrivateMmio(m, h, { vm: VM2, gfn, pfn, rid }));
  });
});

describe('SEV host driver: guest contexts', () => {
  it('ASIDs and context pages are the driver’s; refusals roll back what the PSP did', async () => {
    const w = await sevHostWorld('sev gctx');
    const { m, h, dsm, rid } = w;
    ok(await D.vmCreate(m, h, VM));
    await refused(w, 'EEXIST', () => D.vmCreate(m, h, VM));
    // An ASID someone else activated: SNP_ACTIVATE refuses, the new context is decommissioned.
    const page = Number(m.memoryMap[0].base);
    assert.equal((await m.firmware('SNP_GCTX_CREATE', { gctx: page })).ok, true);
    assert.equal((await m.firmware('SNP_ACTIVATE', { gctx: page, asid: 2 })).ok, true);
    const o = await refused(w, 'EBUSY', () => D.vmCreate(m, h, VM2));
    assert.deepEqual(commands(o.events), ['SNP_GCTX_CREATE', 'SNP_ACTIVATE', 'SNP_DECOMMISSION']);

    await refused(w, 'EINVAL', () => D.vmFinalize(m, h, 'kvm-vm-9'));
    ok(await D.vmFinalize(m, h, VM));
    await refused(w, 'EINVAL', () => D.vmFinalize(m, h, VM));
    // A guest with a TDI bound does not go away.
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    ok(await pciTsmBind(m, h, { rid, vm: VM, vdevId: GUEST_BDF }));
    await refused(w, 'EBUSY', () => D.vmDestroy(m, h, VM));
    ok(await pciTsmUnbind(m, h, { rid }));
    ok(await D.vmDestroy(m, h, VM));
    await refused(w, 'EINVAL', () => D.vmDestroy(m, h, VM));
  });
});
