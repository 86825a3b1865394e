/**
 * The host's design switches (src/host/switches.ts, SYSTEM.md section 6), each in both
 * positions with the difference asserted, through the uAPI a VMM calls: (1) bindUapi, (5)
 * resetWhileBound, (6) regionClaim, (7) dmaBufPfns, (10) unbindOrder per flavour. The worlds
 * go the whole way a VMM goes: tsm/connect, the confidential VM, the VFIO device bound private
 * to iommufd, its BAR 0 exported as a dma-buf behind a KVM_MEM_VFIO_DMABUF slot, the vIOMMU
 * and vDEVICE, the TSM bind through the uAPI of switch 1, private MMIO mapped by KVM faults
 * through the dma-buf core, and the guest's own steps to RUN (the flavour worlds' toRun).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iommufdOpen } from '../../src/host/iommufd/object.ts';
import { IOMMU_VDEVICE_TSM_BIND, IOMMU_VDEVICE_TSM_UNBIND } from '../../src/host/iommufd/uapi.ts';
import { iommuVdeviceTsmOp } from '../../src/host/iommufd/vdevice-tsm.ts';
import { kvmSetMemoryAttributes } from '../../src/host/kvm/attributes.ts';
import { kvmFault } from '../../src/host/kvm/fault.ts';
import { kvmSetUserMemoryRegion2 } from '../../src/host/kvm/memslot.ts';
import { KVM_MEM_VFIO_DMABUF, KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../../src/host/kvm/uapi.ts';
import type { HostMachine } from '../../src/host/machine.ts';
import type { HostEvent, HostOutcome } from '../../src/host/outcome.ts';
import type { HostSwitches } from '../../src/host/switches.ts';
import { vfioMmap, vfioMunmap } from '../../src/host/vfio/regions.ts';
import { vfioDeviceReset } from '../../src/host/vfio/reset.ts';
import { vfioDeviceTsmBind, vfioDeviceTsmUnbind } from '../../src/host/vfio/tsm.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { pfnFrames, pfnValues } from '../../src/platform/pfn-table.ts';
import { asidFenced } from '../../src/platform/sev/fence.ts';
import * as cca from './tsm/cca-world.ts';
import * as sev from './tsm/sev-world.ts';
import * as tdx from './tsm/tdx-world.ts';
import { exportBar, kvmVm, openBound, vdeviceFor } from './vfio-support.ts';
import { type HostWorld, ok, refused } from './world.ts';

type Flavour = 'tdx' | 'sev' | 'cca';
const FLAVOURS: readonly Flavour[] = ['tdx', 'sev', 'cca'];
const DMABUF_SLOT = 7;

/** What the guest sees of one of its private MMIO frames (its own T=1 access). */
type GuestView = { status: string; data?: Uint8Array };

/** The host uAPI ops of a trace, in order. */
const ops = (events: readonly HostEvent[]) =>
  events.flatMap((e) => (e.kind === 'uapi' ? [e.op] : []));
/** The firmware calls of a trace, in order. */
const calls = (events: readonly HostEvent[]) =>
  events.flatMap((e) => (e.kind === 'abi' ? [e.call] : []));
const failed = (events: readonly HostEvent[], op: string) =>
  events.some((e) => e.kind === 'uapi' && e.op === op && !e.ok);

/**
 * A flavour world taken to the point a VMM reaches before the guest locks its device:
 * connected, the confidential VM with its image (the flavour world's step), KVM's record of
 * it, iommufd, the TDI's VFIO device bound private with BAR 0 exported whole as a dma-buf
 * behind a dma-buf slot whose frames are private, a vIOMMU on the VM and a vDEVICE at the
 * guest's id of the TDI.
 */
async function assigned(flavour: Flavour, switches: Partial<HostSwitches>, seed: string) {
  const f = await flavourWorld(flavour, switches, seed);
  const w = Object.assign(f.w, { iommufd: ok(iommufdOpen(f.w.h)) });
  const vmFd = kvmVm(w.h, f.vm);
  const { fd, devId } = openBound(w);
  const bar = w.m.barAddress(w.rid, 0);
  assert.ok(bar);
  const buf = exportBar(w, fd, 0, bar.size);
  const { vdev } = vdeviceFor(w, devId, vmFd, f.virtId);
  const vm = w.h.kvm.vms.get(vmFd);
  assert.ok(vm);
  const baseGfn = f.mmioGpa >> PAGE_SHIFT;
  const pages = Number(bar.size >> PAGE_SHIFT);
  ok(await slot(w, vmFd, buf, f.mmioGpa, bar.size));
  ok(
    await kvmSetMemoryAttributes(w.m, w.h, {
      vmFd,
      address: f.mmioGpa,
      size: bar.size,
      attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE,
      flags: 0,
    }),
  );
  const bind = () => tsmBind(w, fd, vdev);
  const unbind = (m: HostMachine = w.m) => tsmUnbind(w, fd, vdev, m);
  /** The guest's private access to `gfn`: KVM's fault through the dma-buf slot. */
  const fault = (gfn: bigint) =>
    kvmFault(w.m, w.h, { vmFd, gpa: gfn << PAGE_SHIFT, private: true });
  /** The host's half of toRun: the bind through the uAPI, each MMIO page by a KVM fault. */
  const hooks = {
    bind: async () => ok(await bind()),
    mapMmio: async (a: { gfn: bigint; pfn: bigint }) => {
      assert.equal(a.gfn - baseGfn, a.pfn - (bar.base >> PAGE_SHIFT), 'the slot maps BAR 0 1:1');
      assert.deepEqual(ok(await fault(a.gfn)), { exit: 'none', mapped: 'mmio' });
    },
  };
  const run = () => f.toRun(hooks);
  /** The slot's frames in KVM's mirror and in the firmware's secure table. */
  const mapped = () => ({
    mirror: pfnFrames(vm.mirror).filter((g) => g >= baseGfn && g < baseGfn + BigInt(pages)),
    secure: f.secureMmio(),
  });
  return { ...f, w, fd, buf, vdev, vmFd, vm, baseGfn, bind, unbind, fault, run, mapped };
}

type Assigned = Awaited<ReturnType<typeof assigned>>;

function slot(w: HostWorld, vmFd: number, fd: number, gpa: bigint, size: bigint, n = DMABUF_SLOT) {
  return kvmSetUserMemoryRegion2(w.m, w.h, {
    vmFd,
    slot: n,
    flags: KVM_MEM_VFIO_DMABUF,
    guestPhysAddr: gpa,
    memorySize: size,
    guestMemfd: fd,
    guestMemfdOffset: 0n,
  });
}

function tsmBind(w: HostWorld, fd: number, vdev: number): Promise<HostOutcome> {
  return w.h.switches.bindUapi === 'vfio'
    ? vfioDeviceTsmBind(w.m, w.h, { fd, argsz: 12, flags: 0, vdeviceId: vdev })
    : iommuVdeviceTsmOp(w.m, w.h, { vdeviceId: vdev, type: IOMMU_VDEVICE_TSM_BIND, flags: 0 });
}

function tsmUnbind(w: HostWorld, fd: number, vdev: number, m = w.m): Promise<HostOutcome> {
  return w.h.switches.bindUapi === 'vfio'
    ? vfioDeviceTsmUnbind(m, w.h, { fd, argsz: 8, flags: 0 })
    : iommuVdeviceTsmOp(m, w.h, { vdeviceId: vdev, type: IOMMU_VDEVICE_TSM_UNBIND, flags: 0 });
}

/** Each flavour world with what the stack needs of it. */
async function flavourWorld(flavour: Flavour, switches: Partial<HostSwitches>, seed: string) {
  if (flavour === 'tdx') {
    const w = await tdx.tdxWorld(seed, switches);
    await tdx.connectedTd(w);
    return {
      w: w as HostWorld,
      vm: tdx.TD,
      virtId: BigInt(tdx.VDEV_ID),
      mmioGpa: tdx.MMIO_GFN << PAGE_SHIFT,
      toRun: async (hooks: object) => (await tdx.toRun(w, hooks)).gfns,
      view: (gfn: bigint): GuestView => {
        const r = tdx.tdAccess(w, gfn).result as { status: string; data?: Uint8Array };
        return { status: r.status, data: r.data };
      },
      secureMmio: () =>
        pfnValues(w.p.hw.septs.get(tdx.TD)?.entries ?? {}).filter((e) => e.target.kind === 'mmio')
          .length,
      fenced: () => false,
      dead: () => false,
    };
  }
  if (flavour === 'sev') {
    const w = await sev.sevHostWorld(seed, switches);
    await sev.connectedGuest(w);
    return {
      w: w as HostWorld,
      vm: sev.VM,
      virtId: BigInt(sev.GUEST_BDF),
      mmioGpa: sev.GPA_MMIO,
      toRun: (hooks: object) => sev.toRun(w, hooks),
      view: (gfn: bigint): GuestView => {
        const r = sev.guestRead(w, gfn << PAGE_SHIFT).result as {
          status: string;
          data?: Uint8Array;
        };
        return { status: r.status, data: r.data };
      },
      secureMmio: () =>
        pfnValues(w.p.hw.septs.get(sev.guestOf(w).firmwareVm)?.entries ?? {}).filter(
          (e) => e.target.kind === 'mmio',
        ).length,
      fenced: () => asidFenced(w.p, sev.guestOf(w).firmwareVm),
      dead: () => false,
    };
  }
  const w = await cca.ccaWorld(seed, switches);
  await cca.connectedRealm(w);
  return {
    w: w as HostWorld,
    vm: cca.VM,
    virtId: BigInt(cca.VDEV_ID),
    mmioGpa: cca.MMIO_IPA,
    toRun: async (hooks: object) => (await cca.toRun(w, hooks)).gfns,
    view: (gfn: bigint): GuestView => {
      const r = cca.realmAccess(w, gfn << PAGE_SHIFT).result;
      if (r.kind !== 'access') return { status: r.kind };
      return { status: r.access.status, data: 'data' in r.access ? r.access.data : undefined };
    },
    secureMmio: () =>
      pfnValues(w.p.hw.septs.get(cca.VM)?.entries ?? {}).filter((e) => e.target.kind === 'mmio')
        .length,
    fenced: () => false,
    dead: () => w.vendor.realms.get(cca.VM)?.dead !== undefined,
  };
}

/**
 * The machine, with what the guest sees of `gfn` recorded just before the first firmware
 * call named `at` (the flavour's first call of the stop): the guest's view between the steps
 * of an unbind. Only that one access is made (an access to a destroyed Realm page kills it).
 */
function watching(s: Assigned, gfn: bigint, at: string) {
  const seen: { view?: GuestView; fenced?: boolean; dead?: boolean } = {};
  const m: HostMachine = {
    ...s.w.m,
    firmware: (call, args, lend) => {
      if (call === at && !seen.view) {
        Object.assign(seen, { fenced: s.fenced(), dead: s.dead() });
        seen.view = s.view(gfn);
      }
      return s.w.m.firmware(call, args, lend);
    },
  };
  return { m, seen };
}

/** The first firmware call of each flavour's stop (pci_tsm_stop). */
const STOP_CALL: Record<Flavour, string> = {
  tdx: 'TDH.DEVIF.REQUEST',
  sev: 'TIO_TDI_UNBIND',
  cca: 'RMI_VDEV_GET_STATE',
};
const STEPS = ['pci_tsm_stop', 'dma_buf_move_notify', 'pci_tsm_unbind', 'dma_buf_restore'];
const steps = (events: readonly HostEvent[]) => ops(events).filter((o) => STEPS.includes(o));
const ALL_ONES = Uint8Array.of(0xff, 0xff, 0xff, 0xff);

/** Bound, private MMIO mapped by KVM, the TDI in RUN; then the unbind, watched at the stop. */
async function runThenUnbind(flavour: Flavour, unbindOrder: HostSwitches['unbindOrder']) {
  const s = await assigned(flavour, { unbindOrder }, `unbind ${flavour} ${unbindOrder}`);
  const gfns = await s.run();
  assert.equal(s.w.dev.dsm.tdiState(s.w.tdi.fn), 'RUN');
  assert.equal(s.mapped().mirror.length, gfns.length, 'KVM mapped the private MMIO');
  const last = gfns.at(-1) ?? 0n;
  assert.equal(s.view(last).status, 'SC');
  const spy = watching(s, last, STOP_CALL[flavour]);
  const r = await s.unbind(spy.m);
  return { s, r, gfns, atStop: spy.seen };
}

/** Nothing of the binding left: unlocked, unbound, KVM's slot unmapped, buffers shared again. */
function allUndone(s: Assigned): void {
  assert.equal(s.w.dev.dsm.tdiState(s.w.tdi.fn), 'CONFIG_UNLOCKED');
  assert.equal(s.w.h.vfio.devices.get(s.fd)?.tsmBound, undefined);
  assert.equal(s.w.h.pciTsm.devices.get(s.w.dsm)?.bound.size, 0);
  assert.deepEqual(s.mapped().mirror, []);
  const buf = s.w.h.dmaBufs.bufs.get(s.buf);
  assert.equal(buf?.private, false);
  assert.equal(buf?.state, 'live');
}

describe('switch 10 (unbindOrder): who unmaps the private MMIO, and when', () => {
  it("tdx 'stop-first': STOP, then KVM's unmap (block, track, unmap), then the TDI's records", async () => {
    const { s, r, atStop } = await runThenUnbind('tdx', 'stop-first');
    ok(r);
    assert.deepEqual(steps(r.events), STEPS);
    assert.deepEqual(atStop.view?.status, 'SC', 'the TD had its MMIO until the stop');
    const c = calls(r.events);
    assert.ok(c.indexOf('TDH.DEVIF.REQUEST') < c.indexOf('TDH.MMIO.UNMAP'));
    assert.ok(c.lastIndexOf('TDH.MMIO.UNMAP') < c.indexOf('TDH.DEVIF.REMOVE'));
    assert.equal(s.mapped().secure, 0);
    allUndone(s);
  });

  it("tdx 'revoke-first': the module refuses the unmap under the locked TDI, so the unbind is -EBUSY; a second unbind completes", async () => {
    const { s, r, gfns, atStop } = await runThenUnbind('tdx', 'revoke-first');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.errno, 'EBUSY');
    assert.deepEqual(steps(r.events), ['dma_buf_move_notify', 'pci_tsm_stop', 'pci_tsm_unbind']);
    assert.ok(failed(r.events, 'kvm_dmabuf_move_notify'), "KVM's move_notify was refused");
    assert.ok(failed(r.events, 'pci_tsm_unbind'));
    assert.ok(!calls(r.events).includes('TDH.MMIO.UNMAP'), 'refused before any block');
    assert.deepEqual(atStop.view?.status, 'SC', 'the TD kept its MMIO through the revoke');
    // The mappings outlive the revoke, in KVM's mirror and the secure EPT; the TDI is stopped.
    assert.equal(s.mapped().mirror.length, gfns.length);
    assert.equal(s.mapped().secure, gfns.length);
    assert.equal(s.w.dev.dsm.tdiState(s.w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(s.w.h.dmaBufs.bufs.get(s.buf)?.state, 'revoked');
    // Again: the revoke now reaches an unlocked TDI, KVM unmaps, the unbind completes.
    const again = await s.unbind();
    ok(again);
    assert.deepEqual(steps(again.events), [
      'dma_buf_move_notify',
      'pci_tsm_stop',
      'pci_tsm_unbind',
      'dma_buf_restore',
    ]);
    assert.ok(calls(again.events).includes('TDH.MMIO.UNMAP'));
    assert.equal(s.mapped().secure, 0);
    allUndone(s);
  });

  it("sev 'stop-first': TIO_TDI_UNBIND while the guest still reads its device, then KVM's RMPUPDATEs", async () => {
    const { s, r, atStop } = await runThenUnbind('sev', 'stop-first');
    ok(r);
    assert.deepEqual(steps(r.events), STEPS);
    assert.deepEqual(atStop, { fenced: false, dead: false, view: atStop.view });
    assert.equal(atStop.view?.status, 'SC');
    // TIO_TDI_UNBIND gave every BAR page back to shared: KVM's move_notify only drops its mirror.
    assert.ok(!calls(r.events).includes('RMPUPDATE'));
    assert.equal(s.fenced(), false, 'the unbind cleared the fence');
    assert.equal(s.mapped().secure, 0);
    allUndone(s);
  });

  it("sev 'revoke-first': KVM's RMPUPDATE under RUN fences the ASID, the guest reads all ones before the stop", async () => {
    const { s, r, atStop } = await runThenUnbind('sev', 'revoke-first');
    ok(r);
    assert.deepEqual(steps(r.events), [
      'dma_buf_move_notify',
      ...STEPS.filter((x) => x !== 'dma_buf_move_notify'),
    ]);
    const c = calls(r.events);
    assert.ok(c.lastIndexOf('RMPUPDATE') < c.indexOf('TIO_TDI_UNBIND'));
    assert.equal(atStop.fenced, true, 'fenced at the stop');
    assert.notEqual(atStop.view?.status, 'SC');
    assert.deepEqual(atStop.view?.data, ALL_ONES);
    assert.ok(c.includes('TIO_ASID_FENCE_CLEAR'));
    assert.equal(s.fenced(), false, 'the unbind cleared the fence');
    allUndone(s);
  });

  for (const unbindOrder of ['stop-first', 'revoke-first'] as const) {
    it(`cca '${unbindOrder}': RMI_VDEV_UNMAP destroys the Realm's mapping ${unbindOrder === 'stop-first' ? 'in the stop, before RMI_VDEV_UNLOCK' : "at KVM's move_notify, under RUN"}; the next access aborts`, async () => {
      const { s, r, gfns, atStop } = await runThenUnbind('cca', unbindOrder);
      ok(r);
      const c = calls(r.events);
      if (unbindOrder === 'stop-first') {
        assert.deepEqual(steps(r.events), STEPS);
        assert.deepEqual(
          { ...atStop, view: atStop.view?.status },
          { fenced: false, dead: false, view: 'SC' },
        );
        // The RMM unmaps in the stop itself: KVM's move_notify finds nothing left in it.
        assert.deepEqual(c.slice(0, 2), ['RMI_VDEV_GET_STATE', 'RMI_VDEV_UNMAP']);
      } else {
        assert.deepEqual(steps(r.events), [
          'dma_buf_move_notify',
          'pci_tsm_stop',
          'pci_tsm_unbind',
          'dma_buf_restore',
        ]);
        assert.equal(c[0], 'RMI_VDEV_UNMAP');
        // The Realm took its fatal abort on the first access after the revoke, before the stop.
        assert.equal(atStop.view?.status, 'fatal-abort');
      }
      const vendor = (s.w as unknown as cca.CcaWorld).vendor;
      assert.equal(
        vendor.realms.get(cca.VM)?.ipas.get(gfns[0] << PAGE_SHIFT)?.ripas,
        'RIPAS_DESTROYED',
      );
      assert.notEqual(s.view(gfns[0]).status, 'SC');
      assert.equal(s.dead(), true, 'the Realm learns of it: it is dead');
      allUndone(s);
    });
  }
});

describe('switch 7 (dmaBufPfns): can KVM map a private BAR into the secure EPT', () => {
  it("'phys-vec': the bound TDI's private buffer faults in through dma_buf_get_pfn (RMPUPDATE)", async () => {
    const s = await assigned('sev', { dmaBufPfns: 'phys-vec' }, 'pfns phys-vec');
    ok(await s.bind());
    const r = await s.fault(s.baseGfn);
    assert.deepEqual(ok(r), { exit: 'none', mapped: 'mmio' });
    assert.ok(ops(r.events).includes('dma_buf_get_pfn'));
    assert.ok(calls(r.events).includes('RMPUPDATE'));
    assert.deepEqual(s.mapped(), { mirror: [s.baseGfn], secure: 1 });
  });

  it("'sg-table': a private exporter has no scatterlist: the fault is -EIO, a new slot -EINVAL, nothing mapped", async () => {
    const s = await assigned('sev', { dmaBufPfns: 'sg-table' }, 'pfns sg-table');
    ok(await s.bind());
    const r = await refused(s.w, 'EIO', () => s.fault(s.baseGfn));
    const map = r.events.find((e) => e.kind === 'uapi' && e.op === 'dma_buf_map_attachment');
    assert.ok(map?.kind === 'uapi' && !map.ok && map.errno === 'EINVAL');
    assert.ok(!calls(r.events).includes('RMPUPDATE'));
    assert.deepEqual(s.mapped(), { mirror: [], secure: 0 });
    // A slot over the private buffer cannot even be created.
    const bar = s.w.m.barAddress(s.w.rid, 0);
    assert.ok(bar);
    await refused(s.w, 'EINVAL', () => slot(s.w, s.vmFd, s.buf, 0x1_0000_0000n, bar.size, 8));
  });
});

describe('switches 1, 5 and 6 per flavour, each in both positions', () => {
  for (const flavour of FLAVOURS) {
    for (const bindUapi of ['vfio', 'vdevice'] as const) {
      it(`${flavour} (1) bindUapi '${bindUapi}': the bind goes through it to RUN; the other uAPI has none`, async () => {
        const s = await assigned(flavour, { bindUapi }, `switch 1 ${flavour} ${bindUapi}`);
        const other =
          bindUapi === 'vfio'
            ? await iommuVdeviceTsmOp(s.w.m, s.w.h, {
                vdeviceId: s.vdev,
                type: IOMMU_VDEVICE_TSM_BIND,
                flags: 0,
              })
            : await vfioDeviceTsmBind(s.w.m, s.w.h, {
                fd: s.fd,
                argsz: 12,
                flags: 0,
                vdeviceId: s.vdev,
              });
        assert.equal(other.ok ? 'ok' : other.errno, bindUapi === 'vfio' ? 'EOPNOTSUPP' : 'ENOTTY');
        await s.run();
        assert.equal(s.w.dev.dsm.tdiState(s.w.tdi.fn), 'RUN');
        ok(await s.unbind());
        allUndone(s);
      });
    }

    for (const resetWhileBound of ['refuse', 'unbind'] as const) {
      it(`${flavour} (5) resetWhileBound '${resetWhileBound}': VFIO_DEVICE_RESET under RUN ${resetWhileBound === 'refuse' ? 'is -EBUSY, nothing changed' : 'unbinds first, KVM unmaps, the buffer comes back shared'}`, async () => {
        const s = await assigned(
          flavour,
          { resetWhileBound },
          `switch 5 ${flavour} ${resetWhileBound}`,
        );
        const gfns = await s.run();
        const before = structuredClone(s.w.h);
        const r = await vfioDeviceReset(s.w.m, s.w.h, { fd: s.fd });
        if (resetWhileBound === 'refuse') {
          assert.equal(r.ok ? 'ok' : r.errno, 'EBUSY');
          assert.deepEqual(s.w.h, before);
          assert.equal(s.w.dev.dsm.tdiState(s.w.tdi.fn), 'RUN');
          assert.equal(s.mapped().mirror.length, gfns.length);
          return;
        }
        ok(r);
        assert.ok(ops(r.events).includes('pci_tsm_unbind'));
        // CCA leaves the Realm's pages destroyed (RIPAS_DESTROYED), not gone.
        if (flavour !== 'cca') assert.equal(s.mapped().secure, 0);
        allUndone(s);
      });
    }

    for (const regionClaim of ['open', 'bind'] as const) {
      it(`${flavour} (6) regionClaim '${regionClaim}': ${regionClaim === 'open' ? 'claimed from the private bind on, the host cannot mmap a BAR' : 'the host may mmap a BAR until the bind, and the bind is -EBUSY while it does'}`, async () => {
        const s = await assigned(flavour, { regionClaim }, `switch 6 ${flavour} ${regionClaim}`);
        const mmap = vfioMmap(s.w.m, s.w.h, { fd: s.fd, bar: 0 });
        if (regionClaim === 'open') {
          assert.equal(mmap.ok ? 'ok' : mmap.errno, 'EINVAL');
          ok(await s.bind());
          return;
        }
        ok(mmap);
        const bind = await s.bind();
        assert.equal(bind.ok ? 'ok' : bind.errno, 'EBUSY');
        assert.equal(s.w.dev.dsm.tdiState(s.w.tdi.fn), 'CONFIG_UNLOCKED');
        ok(vfioMunmap(s.w.m, s.w.h, { fd: s.fd, bar: 0 }));
        ok(await s.bind());
        assert.equal(vfioMmap(s.w.m, s.w.h, { fd: s.fd, bar: 0 }).ok, false);
      });
    }
  }
});
