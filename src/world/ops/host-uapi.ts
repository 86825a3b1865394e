/**
 * The untrusted host as an adversary of the guest (SYSTEM.md sections 3 and 5): every uAPI
 * call a root process on the host can issue against the assigned device, its dma-bufs, KVM's
 * memslots, iommufd's objects, and raw calls of the firmware's host ABI, each by its real
 * name and through the real host code (src/host), so the kernel's and the firmware's checks
 * are what stands between the host and the guest. Config-space writes, FLR, BAR rewrites,
 * power states, BME and MSI-X are host-config.ts's.
 *
 * Each operation refuses with the errno the kernel (or the status the firmware) answers and
 * never throws for anything the host could pass; a step naming a VM or a TDI the world does
 * not have is a WorldError. Arguments are fds, slot ids, addresses as numbers or '0x...'
 * strings, and flags as the uAPI structs take them.
 *
 * `candidates` draws the steps worth trying from the world as it is (the fds VFIO and the
 * dma-buf core hold, KVM's slots, iommufd's objects, the TDIs' BARs and the VMs' GPAs) plus a
 * few boundary values each (an fd nothing holds, an unaligned or out-of-range offset, a
 * revoked or foreign buffer, flags that must be zero).
 */
import type { ImporterKey } from '../../host/dma-buf/core.ts';
import {
  dmaBufAttach,
  dmaBufDetach,
  dmaBufMapAttachment,
  dmaBufMmap,
  dmaBufUnmapAttachment,
} from '../../host/dma-buf/core.ts';
import { iommuVdeviceDestroy } from '../../host/iommufd/destroy.ts';
import { iommuIoasMap, iommuIoasUnmap } from '../../host/iommufd/ioas.ts';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_VDEVICE_TSM_BIND,
  IOMMU_VDEVICE_TSM_UNBIND,
} from '../../host/iommufd/uapi.ts';
import { iommuVdeviceTsmOp } from '../../host/iommufd/vdevice-tsm.ts';
import { kvmSetMemoryAttributes } from '../../host/kvm/attributes.ts';
import { kvmSetUserMemoryRegion2 } from '../../host/kvm/memslot.ts';
import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_READONLY,
  KVM_MEM_VFIO_DMABUF,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from '../../host/kvm/uapi.ts';
import type { HostOutcome } from '../../host/outcome.ts';
import { sevGuestOf } from '../../host/tsm/sev/index.ts';
import { vfioClose, vfioOpen } from '../../host/vfio/cdev.ts';
import { O_CLOEXEC, O_RDWR, vfioDeviceFeatureDmaBuf } from '../../host/vfio/dma-buf-export.ts';
import { vfioBarRead, vfioBarWrite, vfioMmap, vfioMunmap } from '../../host/vfio/regions.ts';
import { vfioDevicePciHotReset, vfioDeviceReset } from '../../host/vfio/reset.ts';
import { vfioDeviceTsmBind, vfioDeviceTsmUnbind } from '../../host/vfio/tsm.ts';
import {
  VFIO_DEVICE_FEATURE_DMA_BUF,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_TSM_BIND_MINSZ,
  VFIO_DEVICE_TSM_UNBIND_MINSZ,
  VFIO_PCI_BAR5_REGION_INDEX,
  VFIO_PCI_ROM_REGION_INDEX,
} from '../../host/vfio/uapi.ts';
import { FLAVOURS } from '../../platform/flavours.ts';
import { PAGE_SHIFT, PAGE_SIZE } from '../../platform/ids.ts';
import { pfnFrames } from '../../platform/pfn-table.ts';
import { WorldError } from '../errors.ts';
import type { StepEvent } from '../invariants.ts';
import type { World, WorldStep } from '../world.ts';
import { arg, fromHost, refused, type StepResult } from './result.ts';
import type { OpTable } from './types.ts';

const PAGE = BigInt(PAGE_SIZE);
/** The largest KVM_SET_MEMORY_ATTRIBUTES range the model takes (4 GiB). */
const MAX_ATTRIBUTE_BYTES = 1n << 32n;
type Args = NonNullable<WorldStep['args']>;

/**
 * An address, size or offset argument: a number, or a string in decimal or '0x' hex.
 * @throws WorldError when it is neither
 */
function big(step: WorldStep, name: string, dflt: bigint): bigint {
  const x = step.args?.[name];
  if (x === undefined) return dflt;
  if (typeof x === 'number' && Number.isInteger(x)) return BigInt(x);
  if (typeof x === 'string' && /^(0x[0-9a-f]+|-?[0-9]+)$/i.test(x.trim())) return BigInt(x.trim());
  throw new WorldError(`${step.do}: argument ${name} '${x}' is not an integer`);
}

/** A numeric argument that must be an integer (fds, indexes, flags). */
function int(step: WorldStep, name: string, dflt: number): number {
  const n = arg(step, name, dflt);
  if (!Number.isInteger(n))
    throw new WorldError(`${step.do}: argument ${name} ${n} is not an integer`);
  return n;
}

const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/** A step of `op` with `args` (the explorer's move). */
const move = (op: string, args: Args, extra: Partial<WorldStep> = {}): WorldStep => ({
  do: op,
  ...extra,
  args,
});

/** Host facts the candidates draw on. */
function vfioFds(w: World): number[] {
  return [...w.h.vfio.devices.keys()];
}

/** An fd no host object holds: the next one the host would hand out. */
const unusedFd = (w: World): number => w.h.nextFd;

/** The implemented memory BARs of function `rid`, with their bus ranges. */
function barsOf(w: World, rid: number): { bar: number; base: bigint; size: bigint }[] {
  const out: { bar: number; base: bigint; size: bigint }[] = [];
  for (let bar = 0; bar <= VFIO_PCI_BAR5_REGION_INDEX; bar++) {
    const b = w.m.barAddress(rid, bar);
    if (b) out.push({ bar, ...b });
  }
  return out;
}

/**
 * Requester id of function `fn` of the device, a TDI or not.
 * @throws WorldError when the device has no such function
 */
function functionRid(w: World, fn: number): number {
  if (!w.pw.dev.device.functions().includes(fn)) {
    throw new WorldError(`the device has no function ${fn}`);
  }
  return w.pw.dev.device.requesterId(fn);
}

/** The world VM whose KVM fd is `vmFd`, by name. */
function vmNameOf(w: World, vmFd: number): string | undefined {
  for (const v of w.vms.values()) if (v.vmFd === vmFd) return v.name;
  return undefined;
}

/** The KVM VM fd of the step's VM, or the refusal a closed fd gets. */
function kvmFdOf(w: World, step: WorldStep): number | StepResult {
  const v = w.vm(step);
  if (v.vmFd === undefined) return refused('EBADF', `VM '${v.name}' is not created`);
  return v.vmFd;
}

/** A host outcome as a step's result. */
const result = (o: HostOutcome<unknown>): StepResult => fromHost(o);

/** The device importer a dma-buf step names (`importer`: the function number of a peer). */
function deviceImporter(w: World, step: WorldStep): ImporterKey {
  return { kind: 'device', rid: functionRid(w, int(step, 'importer', w.tdiFn(step))) };
}

// ---------------------------------------------------------------------------------------
// VFIO: the device file, its regions, resets, the dma-buf export, the TSM bind

const VFIO_OPS: OpTable = {
  'host.vfio/open': {
    actor: 'host',
    run: async (w, step) => result(vfioOpen(w.m, w.h, { rid: functionRid(w, w.tdiFn(step)) })),
    // Every function on the bus, the DSM's function 0 too (a hot reset needs them all open).
    candidates: (w) => w.pw.dev.device.functions().map((fn) => ({ do: 'host.vfio/open', tdi: fn })),
  },
  'host.vfio/close': {
    actor: 'host',
    run: async (w, step) => result(await vfioClose(w.m, w.h, { fd: int(step, 'fd', -1) })),
    candidates: (w) => [...vfioFds(w), unusedFd(w)].map((fd) => move('host.vfio/close', { fd })),
  },
  'host.vfio/bar-read': {
    actor: 'host',
    run: async (w, step) => {
      const size = int(step, 'size', 4);
      if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
        return refused('EINVAL', `a BAR access of ${size} bytes`);
      }
      const a = {
        fd: int(step, 'fd', -1),
        bar: int(step, 'bar', 0),
        offset: big(step, 'offset', 0n),
      };
      return result(vfioBarRead(w.m, w.h, { ...a, size }));
    },
    candidates: (w) => barMoves(w, 'host.vfio/bar-read', { size: 4 }),
  },
  'host.vfio/bar-write': {
    actor: 'host',
    run: async (w, step) => {
      const data = new Uint8Array(4);
      new DataView(data.buffer).setUint32(0, int(step, 'value', 0xdeadbeef) >>> 0, true);
      const a = {
        fd: int(step, 'fd', -1),
        bar: int(step, 'bar', 0),
        offset: big(step, 'offset', 0n),
      };
      return result(vfioBarWrite(w.m, w.h, { ...a, data }));
    },
    candidates: (w) => barMoves(w, 'host.vfio/bar-write', { value: 0xdeadbeef }),
  },
  'host.vfio/mmap': {
    actor: 'host',
    run: async (w, step) =>
      result(vfioMmap(w.m, w.h, { fd: int(step, 'fd', -1), bar: int(step, 'bar', 0) })),
    candidates: (w) => regionMoves(w, 'host.vfio/mmap'),
  },
  'host.vfio/munmap': {
    actor: 'host',
    run: async (w, step) =>
      result(vfioMunmap(w.m, w.h, { fd: int(step, 'fd', -1), bar: int(step, 'bar', 0) })),
    candidates: (w) =>
      [...w.h.vfio.devices.values()].flatMap((d) =>
        d.mmapped.map((bar) => move('host.vfio/munmap', { fd: d.fd, bar })),
      ),
  },
  'host.vfio/reset': {
    actor: 'host',
    run: async (w, step) => result(await vfioDeviceReset(w.m, w.h, { fd: int(step, 'fd', -1) })),
    candidates: (w) => [...vfioFds(w), unusedFd(w)].map((fd) => move('host.vfio/reset', { fd })),
  },
  'host.vfio/hot-reset': {
    actor: 'host',
    run: async (w, step) =>
      result(await vfioDevicePciHotReset(w.m, w.h, { fd: int(step, 'fd', -1) })),
    candidates: (w) => vfioFds(w).map((fd) => move('host.vfio/hot-reset', { fd })),
  },
  'host.vfio/dma-buf-export': {
    actor: 'host',
    run: async (w, step) => {
      const nr = int(step, 'nrRanges', 1);
      const range = { offset: big(step, 'offset', 0n), length: big(step, 'length', PAGE) };
      return result(
        vfioDeviceFeatureDmaBuf(w.m, w.h, {
          fd: int(step, 'fd', -1),
          featureFlags: int(
            step,
            'featureFlags',
            VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF,
          ),
          regionIndex: int(step, 'region', 0),
          openFlags: int(step, 'openFlags', O_RDWR | O_CLOEXEC),
          flags: int(step, 'flags', 0),
          ranges: nr <= 0 ? [] : Array.from({ length: Math.min(nr, 8) }, () => ({ ...range })),
        }),
      );
    },
    candidates: (w) => {
      const out: WorldStep[] = [];
      const op = 'host.vfio/dma-buf-export';
      for (const d of w.h.vfio.devices.values()) {
        for (const b of barsOf(w, d.rid)) {
          const at = { fd: d.fd, region: b.bar };
          out.push(move(op, { ...at, offset: 0, length: Number(b.size) }));
          out.push(move(op, { ...at, offset: Number(b.size - PAGE), length: Number(PAGE) }));
          // Boundaries: past the BAR, unaligned, empty, no ranges, flags, SET.
          out.push(move(op, { ...at, offset: Number(b.size), length: Number(PAGE) }));
          out.push(move(op, { ...at, offset: 0x800, length: Number(PAGE) }));
          out.push(move(op, { ...at, offset: 0, length: 0 }));
          out.push(move(op, { ...at, nrRanges: 0 }));
          out.push(move(op, { ...at, flags: 1 }));
          out.push(
            move(op, {
              ...at,
              featureFlags: VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_BUF,
            }),
          );
        }
        out.push(move(op, { fd: d.fd, region: VFIO_PCI_ROM_REGION_INDEX }));
      }
      return out;
    },
  },
  'host.vfio/tsm-bind': {
    actor: 'host',
    run: async (w, step) =>
      result(
        await vfioDeviceTsmBind(w.m, w.h, {
          fd: int(step, 'fd', -1),
          argsz: int(step, 'argsz', VFIO_DEVICE_TSM_BIND_MINSZ),
          flags: int(step, 'flags', 0),
          vdeviceId: int(step, 'vdevice', -1),
        }),
      ),
    candidates: (w) =>
      vfioFds(w).flatMap((fd) =>
        vdevices(w).map((vdevice) => move('host.vfio/tsm-bind', { fd, vdevice })),
      ),
  },
  'host.vfio/tsm-unbind': {
    actor: 'host',
    run: async (w, step) =>
      result(
        await vfioDeviceTsmUnbind(w.m, w.h, {
          fd: int(step, 'fd', -1),
          argsz: int(step, 'argsz', VFIO_DEVICE_TSM_UNBIND_MINSZ),
          flags: int(step, 'flags', 0),
        }),
      ),
    candidates: (w) =>
      vfioFds(w).flatMap((fd) => [
        move('host.vfio/tsm-unbind', { fd }),
        move('host.vfio/tsm-unbind', { fd, argsz: VFIO_DEVICE_TSM_UNBIND_MINSZ - 1 }),
      ]),
  },
};

/** Reads or writes at the first and last dword of each BAR of each open device, and past it. */
function barMoves(w: World, op: string, extra: Args): WorldStep[] {
  const out: WorldStep[] = [];
  for (const d of w.h.vfio.devices.values()) {
    for (const b of barsOf(w, d.rid)) {
      for (const offset of [0n, b.size - 4n, b.size]) {
        out.push(move(op, { fd: d.fd, bar: b.bar, offset: Number(offset), ...extra }));
      }
    }
  }
  return out;
}

/** Each BAR of each open device, the ROM region and an fd nothing holds. */
function regionMoves(w: World, op: string): WorldStep[] {
  const out: WorldStep[] = [];
  for (const d of w.h.vfio.devices.values()) {
    for (const b of barsOf(w, d.rid)) out.push(move(op, { fd: d.fd, bar: b.bar }));
    out.push(move(op, { fd: d.fd, bar: VFIO_PCI_ROM_REGION_INDEX }));
  }
  out.push(move(op, { fd: unusedFd(w), bar: 0 }));
  return out;
}

function vdevices(w: World): number[] {
  return [...w.h.iommufd.objects.values()].filter((o) => o.type === 'vdevice').map((o) => o.id);
}

// ---------------------------------------------------------------------------------------
// The dma-buf core, as a host process or a peer device's driver uses a buffer

const DMA_BUF_OPS: OpTable = {
  'host.dma-buf/mmap': {
    actor: 'host',
    run: async (w, step) => result(dmaBufMmap(w.m, w.h, { fd: int(step, 'fd', -1) })),
    candidates: (w) =>
      [...w.h.dmaBufs.bufs.keys(), unusedFd(w)].map((fd) => move('host.dma-buf/mmap', { fd })),
  },
  'host.dma-buf/attach': {
    actor: 'host',
    run: async (w, step) =>
      result(
        dmaBufAttach(w.m, w.h, {
          fd: int(step, 'fd', -1),
          importer: deviceImporter(w, step),
          peer2peer: step.args?.peer2peer !== false,
        }),
      ),
    candidates: (w) => importerMoves(w, 'host.dma-buf/attach'),
  },
  'host.dma-buf/detach': {
    actor: 'host',
    run: async (w, step) =>
      result(
        dmaBufDetach(w.m, w.h, { fd: int(step, 'fd', -1), importer: deviceImporter(w, step) }),
      ),
    candidates: (w) => attachedMoves(w, 'host.dma-buf/detach'),
  },
  'host.dma-buf/map': {
    actor: 'host',
    run: async (w, step) =>
      result(
        dmaBufMapAttachment(w.m, w.h, {
          fd: int(step, 'fd', -1),
          importer: deviceImporter(w, step),
        }),
      ),
    candidates: (w) => [
      ...attachedMoves(w, 'host.dma-buf/map'),
      ...importerMoves(w, 'host.dma-buf/map'),
    ],
  },
  'host.dma-buf/unmap': {
    actor: 'host',
    run: async (w, step) =>
      result(
        dmaBufUnmapAttachment(w.m, w.h, {
          fd: int(step, 'fd', -1),
          importer: deviceImporter(w, step),
        }),
      ),
    candidates: (w) => attachedMoves(w, 'host.dma-buf/unmap'),
  },
};

/** Each buffer with each function of the device as the peer importing it. */
function importerMoves(w: World, op: string): WorldStep[] {
  const fns = w.pw.dev.tdis().map((t) => t.fn);
  return [...w.h.dmaBufs.bufs.keys()].flatMap((fd) =>
    fns.map((importer) => move(op, { fd, importer })),
  );
}

/** Each device attachment that exists. */
function attachedMoves(w: World, op: string): WorldStep[] {
  const fnOf = new Map(w.pw.dev.tdis().map((t) => [t.requesterId, t.fn]));
  const out: WorldStep[] = [];
  for (const b of w.h.dmaBufs.bufs.values()) {
    for (const i of b.importers) {
      const importer = i.rid === undefined ? undefined : fnOf.get(i.rid);
      if (i.kind === 'device' && importer !== undefined) out.push(move(op, { fd: b.fd, importer }));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// KVM: memslots and memory attributes of a VM the VMM runs

const KVM_OPS: OpTable = {
  'host.kvm/memslot': {
    actor: 'host',
    run: async (w, step) => {
      const vmFd = kvmFdOf(w, step);
      if (typeof vmFd !== 'number') return vmFd;
      const fd = step.args?.fd === undefined ? undefined : int(step, 'fd', -1);
      return result(
        await kvmSetUserMemoryRegion2(w.m, w.h, {
          vmFd,
          slot: int(step, 'slot', 0),
          flags: int(step, 'flags', KVM_MEM_VFIO_DMABUF),
          guestPhysAddr: big(step, 'gpa', 0n),
          memorySize: big(step, 'size', 0n),
          ...(fd === undefined ? {} : { guestMemfd: fd }),
          guestMemfdOffset: big(step, 'offset', 0n),
        }),
      );
    },
    candidates: memslotMoves,
  },
  'host.kvm/set-memory-attributes': {
    actor: 'host',
    run: async (w, step) => {
      const vmFd = kvmFdOf(w, step);
      if (typeof vmFd !== 'number') return vmFd;
      // KVM stores the attribute of each page (xa_store per gfn): a range of billions of
      // pages is -ENOMEM long before it is done; the model refuses it up front.
      if (big(step, 'size', PAGE) > MAX_ATTRIBUTE_BYTES) {
        return refused('ENOMEM', 'more pages than the attribute table takes');
      }
      return result(
        await kvmSetMemoryAttributes(w.m, w.h, {
          vmFd,
          address: big(step, 'gpa', 0n),
          size: big(step, 'size', PAGE),
          attributes: int(step, 'attributes', 0),
          flags: int(step, 'flags', 0),
        }),
      );
    },
    candidates: (w) => {
      const out: WorldStep[] = [];
      const op = 'host.kvm/set-memory-attributes';
      for (const v of w.h.kvm.vms.values()) {
        const vm = vmNameOf(w, v.fd);
        if (vm === undefined) continue;
        // Each private page the guest has (its MMIO and its memory) made shared, behind its back.
        for (const gfn of pfnFrames(v.privateGfns).slice(0, 4)) {
          out.push(move(op, { gpa: hex(gfn << PAGE_SHIFT), size: Number(PAGE) }, { vm }));
        }
        for (const s of v.memslots.values()) {
          const gpa = hex(s.baseGfn << PAGE_SHIFT);
          const attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
          out.push(move(op, { gpa, size: Number(PAGE), attributes }, { vm }));
        }
        out.push(move(op, { gpa: 0x800, size: Number(PAGE) }, { vm }));
        out.push(move(op, { gpa: 0, size: Number(PAGE), flags: 1 }, { vm }));
      }
      return out;
    },
  },
};

/**
 * Memslot moves on each VM: delete each slot, move it, change its flags; a new slot over each
 * dma-buf (this VM's, another VM's, a revoked one) at a free GPA, of the wrong size, at an
 * offset, with flags KVM_MEM_VFIO_DMABUF excludes; and an fd that is no dma-buf.
 */
function memslotMoves(w: World): WorldStep[] {
  const out: WorldStep[] = [];
  const op = 'host.kvm/memslot';
  for (const v of w.h.kvm.vms.values()) {
    const vm = vmNameOf(w, v.fd);
    if (vm === undefined) continue;
    let top = 0n;
    let nextSlot = 0;
    for (const s of v.memslots.values()) {
      const gpa = s.baseGfn << PAGE_SHIFT;
      const size = BigInt(s.pages) * PAGE;
      top = gpa + size > top ? gpa + size : top;
      nextSlot = Math.max(nextSlot, s.slot + 1);
      const backing = s.dmaBuf ?? s.guestMemfd;
      const same = {
        slot: s.slot,
        flags: s.flags,
        ...(backing === undefined ? {} : { fd: backing }),
      };
      out.push(move(op, { ...same, gpa: hex(gpa), size: 0 }, { vm }));
      out.push(move(op, { ...same, gpa: hex(gpa + size), size: hex(size) }, { vm }));
      out.push(
        move(
          op,
          { ...same, flags: s.flags | KVM_MEM_READONLY, gpa: hex(gpa), size: hex(size) },
          { vm },
        ),
      );
    }
    // A free GPA above every slot, naturally aligned for the largest BAR.
    const free = (top + 0xffff_ffffn) & ~0xffff_ffffn;
    for (const b of w.h.dmaBufs.bufs.values()) {
      const size = b.ranges.reduce((n, r) => n + r.length, 0n);
      const at = { slot: nextSlot, fd: b.fd, gpa: hex(free) };
      out.push(move(op, { ...at, flags: KVM_MEM_VFIO_DMABUF, size: hex(size) }, { vm }));
      out.push(move(op, { ...at, flags: KVM_MEM_VFIO_DMABUF, size: hex(size + PAGE) }, { vm }));
      out.push(
        move(op, { ...at, flags: KVM_MEM_VFIO_DMABUF, size: hex(size), offset: hex(PAGE) }, { vm }),
      );
      out.push(
        move(
          op,
          { ...at, flags: KVM_MEM_VFIO_DMABUF | KVM_MEM_GUEST_MEMFD, size: hex(size) },
          { vm },
        ),
      );
    }
    out.push(
      move(
        op,
        {
          slot: nextSlot,
          fd: unusedFd(w),
          gpa: hex(free),
          size: hex(PAGE),
          flags: KVM_MEM_VFIO_DMABUF,
        },
        { vm },
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// iommufd: the VMM's IO address spaces and vDEVICEs

const IOMMUFD_OPS: OpTable = {
  'host.iommufd/ioas-map': {
    actor: 'host',
    run: async (w, step) => {
      const fixed = step.args?.iova !== undefined;
      const flags = int(
        step,
        'flags',
        IOMMU_IOAS_MAP_READABLE |
          IOMMU_IOAS_MAP_WRITEABLE |
          (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
      );
      return result(
        iommuIoasMap(w.m, w.h, {
          ioasId: int(step, 'ioas', -1),
          flags,
          userVa: big(step, 'userVa', 0n),
          length: big(step, 'length', PAGE),
          ...(fixed ? { iova: big(step, 'iova', 0n) } : {}),
        }),
      );
    },
    candidates: (w) => {
      const out: WorldStep[] = [];
      const op = 'host.iommufd/ioas-map';
      // Host pages KVM took for the guests (guest_memfd pages are private to a guest), the
      // first page of host memory, a BAR (no host memory), and an unaligned address.
      const taken = pfnFrames(w.h.kvm.hostPages)
        .slice(0, 2)
        .map((p) => p << PAGE_SHIFT);
      const first = w.m.memoryMap[0]?.base ?? 0n;
      // (With SR-IOV disabled by the host there may be no TDI at all.)
      const tdi = w.pw.dev.tdis()[0];
      const bar = tdi === undefined ? undefined : barsOf(w, w.rid(tdi.fn))[0]?.base;
      for (const o of w.h.iommufd.objects.values()) {
        if (o.type !== 'ioas') continue;
        for (const va of [...taken, first, ...(bar === undefined ? [] : [bar]), first + 0x10n]) {
          out.push(move(op, { ioas: o.id, userVa: hex(va), length: Number(PAGE) }));
        }
        const mapped = [...o.maps.keys()][0];
        if (mapped !== undefined) {
          out.push(move(op, { ioas: o.id, userVa: hex(first), iova: hex(mapped << PAGE_SHIFT) }));
        }
      }
      return out;
    },
  },
  'host.iommufd/ioas-unmap': {
    actor: 'host',
    run: async (w, step) =>
      result(
        iommuIoasUnmap(w.m, w.h, {
          ioasId: int(step, 'ioas', -1),
          iova: big(step, 'iova', 0n),
          length: big(step, 'length', PAGE),
        }),
      ),
    candidates: (w) => {
      const out: WorldStep[] = [];
      const op = 'host.iommufd/ioas-unmap';
      for (const o of w.h.iommufd.objects.values()) {
        if (o.type !== 'ioas') continue;
        const iovas = [...o.maps.keys()];
        if (iovas.length > 0) {
          out.push(
            move(op, { ioas: o.id, iova: hex(iovas[0] << PAGE_SHIFT), length: Number(PAGE) }),
          );
          let last = 0n;
          for (const i of iovas) if (i > last) last = i;
          out.push(move(op, { ioas: o.id, iova: 0, length: hex((last + 1n) << PAGE_SHIFT) }));
        }
        out.push(move(op, { ioas: o.id, iova: 0x800, length: Number(PAGE) }));
      }
      return out;
    },
  },
  'host.iommufd/vdevice-tsm-bind': {
    actor: 'host',
    run: async (w, step) =>
      result(
        await iommuVdeviceTsmOp(w.m, w.h, {
          vdeviceId: int(step, 'vdevice', -1),
          type: IOMMU_VDEVICE_TSM_BIND,
          flags: int(step, 'flags', 0),
        }),
      ),
    candidates: (w) =>
      vdevices(w).map((vdevice) => move('host.iommufd/vdevice-tsm-bind', { vdevice })),
  },
  'host.iommufd/vdevice-tsm-unbind': {
    actor: 'host',
    run: async (w, step) =>
      result(
        await iommuVdeviceTsmOp(w.m, w.h, {
          vdeviceId: int(step, 'vdevice', -1),
          type: IOMMU_VDEVICE_TSM_UNBIND,
          flags: int(step, 'flags', 0),
        }),
      ),
    candidates: (w) =>
      vdevices(w).map((vdevice) => move('host.iommufd/vdevice-tsm-unbind', { vdevice })),
  },
  'host.iommufd/vdevice-destroy': {
    actor: 'host',
    run: async (w, step) =>
      result(await iommuVdeviceDestroy(w.m, w.h, { id: int(step, 'vdevice', -1) })),
    candidates: (w) =>
      [...vdevices(w), w.h.iommufd.nextId].map((vdevice) =>
        move('host.iommufd/vdevice-destroy', { vdevice }),
      ),
  },
};

// ---------------------------------------------------------------------------------------
// The firmware's host ABI, called directly by a host kernel that does what it likes

/** Argument names the host ABIs take as addresses or frame numbers (bigints). */
const BIG_ARGS = new Set([
  'gfn',
  'pfn',
  'hpfn',
  'gpa',
  'spa',
  'ipa',
  'pa',
  'base',
  'top',
  'ipaBase',
  'ipaTop',
  'address',
  'size',
  'reportingOffset',
  'virtId',
]);

/**
 * The call's arguments from the step's (`call` aside): addresses as bigints, the rest as
 * given. @throws WorldError for an address that is not an integer
 */
function abiArgs(step: WorldStep): Record<string, string | number | bigint | boolean> {
  const out: Record<string, string | number | bigint | boolean> = {};
  for (const [k, v] of Object.entries(step.args ?? {})) {
    if (k === 'call') continue;
    out[k] = BIG_ARGS.has(k) ? big(step, k, 0n) : v;
  }
  return out;
}

const TSM_ABI_OPS: OpTable = {
  'host.tsm-abi/call': {
    actor: 'host',
    raw: true,
    run: async (w, step) => {
      const call = String(step.args?.call ?? '');
      const table = FLAVOURS[w.flavour].host as Record<string, unknown>;
      if (!Object.hasOwn(table, call)) {
        return refused('EINVAL', `${w.flavour} firmware has no host ABI call '${call}'`);
      }
      const args = abiArgs(step);
      let o: Awaited<ReturnType<World['m']['firmware']>>;
      try {
        // The DSM's mailbox is lent to every call: the ones that talk to the device use it.
        o = await w.m.firmware(call, args, w.pw.dev.device.requesterId(0));
      } catch (e) {
        // An argument of the wrong type (a name where a number goes): the registers a real
        // caller passes always have some value, so this is the caller's malformed call.
        if (e instanceof TypeError || e instanceof RangeError) {
          return refused('EINVAL', `${call}: malformed arguments (${e.message})`);
        }
        throw e;
      }
      return {
        ok: o.ok,
        ...(o.ok ? { value: o.value } : { errno: o.status, detail: o.detail ?? o.status }),
        events: o.events as unknown as StepEvent[],
      };
    },
    candidates: tsmAbiMoves,
  },
};

/**
 * Raw firmware calls worth trying: unmapping, removing and stopping what the guest uses,
 * mapping each TDI's BAR pages into each VM, by the flavour's own call names.
 */
function tsmAbiMoves(w: World): WorldStep[] {
  const out: WorldStep[] = [];
  const op = 'host.tsm-abi/call';
  const c = (call: string, args: Args) => out.push(move(op, { call, ...args }));
  const dsm = w.pw.dev.device.requesterId(0);
  const vms = [...w.h.kvm.vms.values()].map((v) => {
    const name = vmNameOf(w, v.fd);
    const fw = (name === undefined ? undefined : w.vms.get(name)?.firmwareVm) ?? v.vm;
    return { v, fw, gctx: sevGuestOf(w.h, v.vm)?.gctx };
  });
  for (const t of w.pw.dev.tdis()) {
    const rid = t.requesterId;
    const page = barsOf(w, rid)[0];
    for (const { v, fw, gctx } of vms) {
      const gfns = pfnFrames(v.mirror).slice(0, 2);
      if (w.flavour === 'tdx') {
        if (page)
          c('TDH.MMIO.MAP', { td: fw, gfn: hex(0x7ff00n), pfn: hex(page.base >> PAGE_SHIFT) });
        for (const gfn of gfns) {
          c('TDH.MMIO.BLOCK', { td: fw, gfn: hex(gfn) });
          c('TDH.MMIO.UNMAP', { td: fw, gfn: hex(gfn) });
          c('TDH.MEM.RANGE.BLOCK', { td: fw, gfn: hex(gfn) });
        }
        c('TDH.MEM.TRACK', { td: fw });
      } else if (w.flavour === 'sev') {
        if (gctx !== undefined) c('TIO_TDI_UNBIND', { dev: dsm, tdi: rid, gctx, force: true });
      } else {
        // Its own page, and each other function's (a VDEV given a page of a device it is not).
        for (const u of w.pw.dev.tdis()) {
          const pa = barsOf(w, u.requesterId)[0]?.base;
          if (pa !== undefined) {
            c('RMI_VDEV_MAP', { rd: fw, vdev: rid, ipa: hex(0x7ff00000n), pa: hex(pa) });
          }
        }
        for (const gfn of gfns) c('RMI_VDEV_UNMAP', { rd: fw, ipa: hex(gfn << PAGE_SHIFT) });
        c('RMI_VDEV_UNLOCK', { rd: fw, pdev: dsm, vdev: rid });
        c('RMI_VDEV_DESTROY', { rd: fw, pdev: dsm, vdev: rid });
      }
    }
    if (w.flavour === 'tdx') {
      c('TDH.DEVIF.REQUEST', { functionId: rid, request: 'STOP_INTERFACE_REQUEST' });
      c('TDH.DEVIF.RESPONSE', { functionId: rid });
      c('TDH.DEVIF.REMOVE', { functionId: rid });
      c('TDH.DMAR.BLOCK', { functionId: rid });
      c('TDH.DMAR.REMOVE', { functionId: rid });
    } else if (w.flavour === 'sev') {
      if (page) c('RMPUPDATE', { spa: hex(page.base), assigned: false });
      c('TIO_TDI_RECLAIM', { dev: dsm, tdi: rid });
    }
  }
  c('NO_SUCH_CALL', {});
  return out;
}

export const HOST_UAPI_OPS: OpTable = {
  ...VFIO_OPS,
  ...DMA_BUF_OPS,
  ...KVM_OPS,
  ...IOMMUFD_OPS,
  ...TSM_ABI_OPS,
};
