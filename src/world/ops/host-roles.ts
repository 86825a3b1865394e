/**
 * The host's side of VFIO's roles (SYSTEM.md section 1) and of bare-metal TIO (section 6
 * question 2, switch `bareMetal`):
 *
 * - VFIO as TEE helper: `host.vfio-helper/tsm-bind` is the host's own TSM bind of a device it
 *   assigned (VFIO_DEVICE_TSM_BIND or IOMMU_VDEVICE_TSM_OP by switch `bindUapi`): the TDI
 *   goes to CONFIG_LOCKED and no further. `host.vfio-helper/tsm-start` is the host trying to go
 *   further on its own by the most direct path of its flavour (host/tsm/host-start.ts):
 *   TDX's module refuses it, SEV's and CCA's firmware start the TDI, and the guest's
 *   attester then sees a TDI it did not start. `host.vfio-helper/tsm-unbind` rolls everything
 *   back (CONFIG_UNLOCKED, nothing trusted left).
 * - Bare metal: `host.dpdk/*` is a host process (DPDK) with no VM: it opens the VFIO cdev,
 *   binds it private to iommufd with a vIOMMU that has no KVM, and asks for the TSM bind.
 *   With `bareMetal` 'refuse' the bind is -ENOENT; with 'host-context' the TSM gives it a
 *   no-VM context (host/vfio/host-context.ts) whose guest ABI the process uses as a guest
 *   would (the attester and devsec core of guest/, run by the process), then MMIO and DMA.
 */
import { collectEvidence, verifyCollected } from '../../guest/attester.ts';
import { type Observation, observe } from '../../guest/driver/nic.ts';
import type { GuestHypercall, GuestMachine, HypercallResult } from '../../guest/machine.ts';
import { acceptMemory } from '../../guest/memory.ts';
import { createGuestState } from '../../guest/state.ts';
import { tsmAccept } from '../../guest/tsm/core.ts';
import { iommuHwptAlloc } from '../../host/iommufd/hwpt.ts';
import { iommuIoasAlloc } from '../../host/iommufd/ioas.ts';
import { iommufdOpen } from '../../host/iommufd/object.ts';
import { IOMMU_VDEVICE_TSM_BIND, IOMMU_VDEVICE_TSM_UNBIND } from '../../host/iommufd/uapi.ts';
import { iommuVdeviceAlloc } from '../../host/iommufd/vdevice.ts';
import { iommuVdeviceTsmOp, iommuVdeviceTsmReq } from '../../host/iommufd/vdevice-tsm.ts';
import { iommuViommuAlloc } from '../../host/iommufd/viommu.ts';
import type { HostOutcome } from '../../host/outcome.ts';
import { hostStartTdi } from '../../host/tsm/host-start.ts';
import { sevGuestOf } from '../../host/tsm/sev/index.ts';
import {
  vfioClose,
  vfioDeviceAttachIommufdPt,
  vfioDeviceBindIommufd,
  vfioOpen,
} from '../../host/vfio/cdev.ts';
import { hostContextMapMemory, hostContextMapMmio } from '../../host/vfio/host-context.ts';
import { vfioDeviceTsmBind, vfioDeviceTsmUnbind } from '../../host/vfio/tsm.ts';
import { VFIO_DEVICE_TSM_BIND_MINSZ, VFIO_DEVICE_TSM_UNBIND_MINSZ } from '../../host/vfio/uapi.ts';
import { tsmBind, tsmUnbind } from '../../host/vmm/hypercall.ts';
import type { VmmDevice } from '../../host/vmm/state.ts';
import { PAGE_SHIFT } from '../../platform/ids.ts';
import { guestMachine } from '../guest-machine.ts';
import type { StepEvent } from '../invariants.ts';
import type { World, WorldHostProcess, WorldStep } from '../world.ts';
import { arg, fromGuest, fromHost, refused, type StepResult } from './result.ts';
import type { OpTable } from './types.ts';

/** When the process checks the device's certificates (as guest.attest). */
const ATTEST_AT = new Date(Date.UTC(2026, 0, 1));

/** The VMM's record of the device at function `fn`, if a VM has it assigned. */
function assigned(w: World, fn: number): VmmDevice | undefined {
  const rid = w.rid(fn);
  for (const vm of w.s.vms.values())
    for (const d of vm.devices.values()) if (d.rid === rid) return d;
  return undefined;
}

/** One step per TDI of the device (the host's and the process's candidates). */
const perTdi = (w: World, name: string): WorldStep[] =>
  w.pw.dev.tdis().map((t) => ({ do: name, tdi: t.fn }));

type HostProcess = WorldHostProcess;

const events = (...rs: { events: readonly unknown[] }[]) =>
  rs.flatMap((r) => r.events as StepEvent[]);

/** The process's machine over its host context: guest ABI by the context, requests by iommufd. */
function processMachine(w: World, p: HostProcess): GuestMachine | undefined {
  const ctxVm = w.h.vfio.devices.get(p.fd)?.tsmBound?.hostContext?.vm;
  if (ctxVm === undefined) return undefined;
  const firmwareVm = w.flavour === 'sev' ? (sevGuestOf(w.h, ctxVm)?.firmwareVm ?? ctxVm) : ctxVm;
  const mapMmio = async (gpa: bigint, pages: number) => {
    for (let i = 0n; i < BigInt(pages); i++) {
      const r = await hostContextMapMmio(w.m, w.h, { fd: p.fd, pfn: (gpa >> PAGE_SHIFT) + i });
      w.trace.events(r.events as never);
    }
  };
  const hypercall = async (call: GuestHypercall): Promise<HypercallResult> => {
    if (call.op !== 'tsm-guest-req') {
      return { ok: false, errno: 'ENOSYS', detail: `${call.op}: a host process has no VMM` };
    }
    let message = call.message;
    if (message.type === 'TIO_MSG_MMIO_VALIDATE_REQ') {
      await mapMmio(BigInt(message.subrangeBase as bigint), Number(message.subrangePageCount));
    }
    // The process owns its context: it holds the key its messages are sealed with.
    const gctx = w.flavour === 'sev' ? sevGuestOf(w.h, ctxVm)?.gctx : undefined;
    if (gctx !== undefined) message = { ...message, gctx };
    const r = await iommuVdeviceTsmReq(w.m, w.h, {
      vdeviceId: p.vdevice,
      request: { scope: call.scope, message },
    });
    w.trace.events(r.events as never);
    return r.ok ? { ok: true, value: r.value } : { ok: false, errno: r.errno, detail: r.detail };
  };
  const base = guestMachine(w.pw, { vm: firmwareVm, hypercall });
  return {
    ...base,
    tsmCall: async (call, args) => {
      if (call === 'TDG.MMIO.ACCEPT') await mapMmio(BigInt(args.gfn as bigint) << PAGE_SHIFT, 1);
      if (call === 'RSI_VDEV_VALIDATE_MAPPING') {
        const lo = BigInt(args.ipaBase as bigint);
        await mapMmio(lo, Number((BigInt(args.ipaTop as bigint) - lo) >> PAGE_SHIFT));
      }
      return base.tsmCall(call, args);
    },
  };
}

/** The bind / unbind of the process's device through the uAPI switch `bindUapi` names. */
function processBind(w: World, p: HostProcess, bind: boolean): Promise<HostOutcome> {
  if (w.h.switches.bindUapi === 'vfio') {
    return bind
      ? vfioDeviceTsmBind(w.m, w.h, {
          fd: p.fd,
          argsz: VFIO_DEVICE_TSM_BIND_MINSZ,
          flags: 0,
          vdeviceId: p.vdevice,
        })
      : vfioDeviceTsmUnbind(w.m, w.h, { fd: p.fd, argsz: VFIO_DEVICE_TSM_UNBIND_MINSZ, flags: 0 });
  }
  const type = bind ? IOMMU_VDEVICE_TSM_BIND : IOMMU_VDEVICE_TSM_UNBIND;
  return iommuVdeviceTsmOp(w.m, w.h, { vdeviceId: p.vdevice, type, flags: 0 });
}

function processOf(w: World, step: WorldStep): HostProcess | StepResult {
  const p = w.hostProcesses.get(w.tdiFn(step));
  return p ?? refused('EBADF', `no host process has function ${w.tdiFn(step)} open`);
}
const isResult = (x: HostProcess | StepResult): x is StepResult => 'events' in x;

/** The process's CPU access through its context, as a step. */
function access(o: { ok: true; value: Observation; events: unknown[] }): StepResult {
  const seen = o.value;
  return seen.kind === 'ok'
    ? { ok: true, value: seen.data, events: o.events as StepEvent[] }
    : {
        ok: false,
        errno: seen.kind,
        detail: 'reason' in seen ? seen.reason : seen.kind,
        events: o.events as StepEvent[],
      };
}

export const HOST_ROLE_OPS: OpTable = {
  'host.vfio-helper/tsm-bind': {
    actor: 'host',
    run: async (w, step) => {
      const d = assigned(w, w.tdiFn(step));
      if (!d) return refused('ENODEV', `function ${w.tdiFn(step)} is assigned to no VM`);
      const r = await tsmBind(w.m, w.h, d);
      if (r.ok) d.tsmBound = true;
      return fromHost(r);
    },
    candidates: (w) => perTdi(w, 'host.vfio-helper/tsm-bind'),
  },
  'host.vfio-helper/tsm-start': {
    actor: 'host',
    run: async (w, step) => {
      const d = assigned(w, w.tdiFn(step));
      if (!d) return refused('ENODEV', `function ${w.tdiFn(step)} is assigned to no VM`);
      return fromHost(await hostStartTdi(w.m, w.h, { rid: d.rid, vdeviceId: d.vdevice }));
    },
    candidates: (w) => perTdi(w, 'host.vfio-helper/tsm-start'),
  },
  'host.vfio-helper/tsm-unbind': {
    actor: 'host',
    run: async (w, step) => {
      const d = assigned(w, w.tdiFn(step));
      if (!d) return refused('ENODEV', `function ${w.tdiFn(step)} is assigned to no VM`);
      const r = await tsmUnbind(w.m, w.h, d);
      if (r.ok) d.tsmBound = false;
      return fromHost(r);
    },
    candidates: (w) => perTdi(w, 'host.vfio-helper/tsm-unbind'),
  },

  'host.dpdk/open': {
    actor: 'host',
    run: async (w, step) => {
      const fn = w.tdiFn(step);
      if (w.hostProcesses.has(fn)) return refused('EBUSY', `function ${fn} is open by the process`);
      const rid = w.rid(fn);
      const out: StepEvent[] = [];
      const done = <T>(r: HostOutcome<T>) => {
        out.push(...(r.events as StepEvent[]));
        return r;
      };
      const iommufd = w.h.iommufd.fd !== 0 ? w.h.iommufd.fd : undefined;
      const ifd = iommufd ?? done(iommufdOpen(w.h));
      if (typeof ifd !== 'number' && !ifd.ok) return { ...fromHost(ifd), events: out };
      const iommu = typeof ifd === 'number' ? ifd : ifd.value;
      const fd = done(vfioOpen(w.m, w.h, { rid }));
      if (!fd.ok) return { ...fromHost(fd), events: out };
      const fail = async (r: HostOutcome<unknown>) => {
        done(await vfioClose(w.m, w.h, { fd: fd.value }));
        return { ...fromHost(r), events: out };
      };
      const dev = done(
        vfioDeviceBindIommufd(w.m, w.h, { fd: fd.value, iommufd: iommu, flags: 0, private: true }),
      );
      if (!dev.ok) return fail(dev);
      const ioas = done(iommuIoasAlloc(w.m, w.h));
      if (!ioas.ok) return fail(ioas);
      const hwpt = done(iommuHwptAlloc(w.m, w.h, { flags: 0, devId: dev.value, ptId: ioas.value }));
      if (!hwpt.ok) return fail(hwpt);
      const at = done(vfioDeviceAttachIommufdPt(w.m, w.h, { fd: fd.value, ptId: hwpt.value }));
      if (!at.ok) return fail(at);
      // No KVM: the process has no VM to hand the vIOMMU.
      const viommu = done(
        iommuViommuAlloc(w.m, w.h, { flags: 0, type: 0, devId: dev.value, hwptId: hwpt.value }),
      );
      if (!viommu.ok) return fail(viommu);
      const vdev = done(
        iommuVdeviceAlloc(w.m, w.h, {
          viommuId: viommu.value,
          devId: dev.value,
          virtId: BigInt(rid),
        }),
      );
      if (!vdev.ok) return fail(vdev);
      const tdi = w.pw.dev.tdis().find((t) => t.fn === fn);
      const bars = [0, 1, 2, 3, 4, 5].flatMap((index) => {
        const b = w.m.barAddress(rid, index);
        return b ? [{ index, address: b.base, size: b.size }] : [];
      });
      const g = createGuestState(
        w.flavour,
        tdi ? [{ vdevId: rid, interfaceId: tdi.interfaceId, bars, devsec: true }] : [],
        `${w.config.seed ?? 'teeio'} host process ${fn}`,
      );
      w.hostProcesses.set(fn, { fd: fd.value, vdevice: vdev.value, g, vdevId: rid });
      return { ok: true, value: fd.value, events: out };
    },
    candidates: (w) => perTdi(w, 'host.dpdk/open'),
  },
  'host.dpdk/lock': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const dev = p.g.devices.get(p.vdevId);
      if (dev?.tsm !== 'unlocked') return refused('EBUSY', `already ${dev?.tsm}`);
      const r = await processBind(w, p, true);
      if (!r.ok) return fromHost(r);
      dev.tsm = 'locked';
      dev.attested = undefined;
      return fromHost(r);
    },
    candidates: (w) => perTdi(w, 'host.dpdk/lock'),
  },
  'host.dpdk/attest': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const gm = processMachine(w, p);
      if (!gm) return refused('EINVAL', 'the device is not locked');
      const c = await collectEvidence(gm, p.g, p.vdevId);
      if (!c.ok) return fromGuest(c);
      const v = verifyCollected(p.g, p.vdevId, w.policy, c.value, ATTEST_AT);
      return { ...fromGuest(v), events: events(c, v) };
    },
    candidates: (w) => perTdi(w, 'host.dpdk/attest'),
  },
  'host.dpdk/accept': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const gm = processMachine(w, p);
      if (!gm) return refused('EINVAL', 'the device is not locked');
      return fromGuest(await tsmAccept(gm, p.g, p.vdevId, '1'));
    },
    candidates: (w) => perTdi(w, 'host.dpdk/accept'),
  },
  'host.dpdk/mmio-read': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const b = p.g.devices.get(p.vdevId)?.bars.find((x) => x.index === arg(step, 'bar', 0));
      const off = BigInt(arg(step, 'offset', 0));
      const gm = processMachine(w, p);
      if (!gm || !b || off < 0n || off >= b.size)
        return refused('EFAULT', 'no such mapping of the BAR');
      const o = gm.mmioRead(b.address + off, 4);
      return access({ ok: true, value: observe(gm, o), events: o.events });
    },
    candidates: (w) =>
      perTdi(w, 'host.dpdk/mmio-read').flatMap((s) => [s, { ...s, args: { offset: 0x100000 } }]),
  },
  'host.dpdk/dma': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const gm = processMachine(w, p);
      if (!gm) return refused('EINVAL', 'the device is not locked');
      const out: StepEvent[] = [];
      if (p.dma === undefined) {
        const r = await hostContextMapMemory(w.m, w.h, { fd: p.fd });
        out.push(...(r.events as StepEvent[]));
        if (!r.ok) return { ...fromHost(r), events: out };
        p.dma = r.value << PAGE_SHIFT;
        out.push(...((await acceptMemory(gm, p.dma, 1)) as StepEvent[]));
      }
      const payload = new Uint8Array(8).fill(arg(step, 'value', 0x5a) & 0xff);
      const dma = w.pw.dev.device.dmaWrite(w.tdiFn(step), p.dma, payload);
      const back = gm.memRead(p.dma, payload.length);
      if (back?.every((b, i) => b === payload[i])) return { ok: true, value: back, events: out };
      const how = dma.issued ? `T=${dma.t ? 1 : 0} ${dma.status}` : `not issued (${dma.reason})`;
      return {
        ok: false,
        errno: 'EIO',
        detail: `the device's DMA did not land: ${how}`,
        events: out,
      };
    },
    candidates: (w) => perTdi(w, 'host.dpdk/dma'),
  },
  'host.dpdk/unlock': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const r = await processBind(w, p, false);
      if (r.ok) {
        const dev = p.g.devices.get(p.vdevId);
        if (dev) Object.assign(dev, { tsm: 'unlocked', attested: undefined, dmaActive: false });
        p.dma = undefined;
      }
      return fromHost(r);
    },
    candidates: (w) => perTdi(w, 'host.dpdk/unlock'),
  },
  'host.dpdk/close': {
    actor: 'host',
    run: async (w, step) => {
      const p = processOf(w, step);
      if (isResult(p)) return p;
      const r = await vfioClose(w.m, w.h, { fd: p.fd });
      if (r.ok) w.hostProcesses.delete(w.tdiFn(step));
      return fromHost(r);
    },
    candidates: (w) => perTdi(w, 'host.dpdk/close'),
  },
};
