/**
 * The TSM bind and unbind of a VFIO device (the TEE-IO RFC), shared by both uAPIs (switch
 * `bindUapi`, SYSTEM.md open question 1): VFIO_DEVICE_TSM_BIND / _UNBIND here, and the
 * iommufd vDEVICE's IOMMU_VDEVICE_TSM_OP (iommufd/vdevice-tsm.ts).
 *
 * When `bindUapi` is 'vdevice', VFIO_DEVICE_TSM_BIND / _UNBIND answer -ENOTTY: a kernel with
 * the bind on iommufd has no such VFIO ioctl, and vfio_pci_core_ioctl answers an unknown
 * ioctl with -ENOTTY.
 *
 * bind: under switch `preLockReset` 'flr' (open question 3) the function reset first
 * (pci_reset_function), then the BARs claimed (when `regionClaim` is 'bind'), pci_tsm_bind
 * for the vIOMMU's KVM VM at the vDEVICE's virt_id, the trusted IOMMU context for that VM
 * (trustedDmaSetup), then the device's dma-bufs revoked, marked private and restored, so
 * importers drop their shared mappings and map again as private.
 * unbind, switch `unbindOrder` (open question 10): 'stop-first' (SYSTEM.md section 4 step 7)
 * stops the TDI, revokes the dma-bufs (KVM unmaps the private MMIO), frees the TSM's records,
 * then restores the buffers as shared; 'revoke-first' revokes before the stop. A step that
 * fails ends the unbind with its errno: what the steps before it did to the firmware and the
 * device is done and stays in the records, as in the kernel.
 */
import type { AbiArg } from '../../platform/abi.ts';
import { dmaBufRestore, dmaBufRevoke, dmaBufSetPrivate } from '../dma-buf/core.ts';
import type { IommufdObject } from '../iommufd/state.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { pciResetFunction } from '../pci/reset.ts';
import { pciTsmBind, pciTsmStop, pciTsmUnbind } from '../pci-tsm/core.ts';
import type { HostState } from '../state.ts';
import { tsmDriver } from '../tsm/index.ts';
import { claimRefusal } from './claim.ts';
import { hexRid, vfioDeviceOf } from './device.ts';
import { hostContextCreate, hostContextDestroy, hostContextUnmapMmio } from './host-context.ts';
import type { HostContext, VfioDevice } from './state.ts';
import { VFIO_DEVICE_TSM_BIND_MINSZ, VFIO_DEVICE_TSM_UNBIND_MINSZ } from './uapi.ts';

type Vdevice = Extract<IommufdObject, { type: 'vdevice' }>;

/**
 * Why vDEVICE `vdev` cannot be TSM-bound for `d`, as the errno both uAPIs answer: -EINVAL
 * a vDEVICE of another device, -EEXIST already bound, -ENOENT a vIOMMU without KVM, -ENODEV
 * a KVM VM that is gone; undefined, with the VM, when it can.
 */
export function tsmBindCheck(
  h: HostState,
  d: VfioDevice,
  vdev: Vdevice,
):
  | { errno: 'EINVAL' | 'EEXIST' | 'ENOENT' | 'ENODEV' | 'EBUSY'; detail: string }
  | { vm: string }
  | { hostContext: true } {
  if (d.bound?.devId !== vdev.devId) {
    return { errno: 'EINVAL', detail: `vDEVICE ${vdev.id} is not of fd ${d.fd}'s device` };
  }
  if (vdev.tsmBound || d.tsmBound) {
    return { errno: 'EEXIST', detail: `${hexRid(d.rid)} is already TSM-bound` };
  }
  const viommu = h.iommufd.objects.get(vdev.viommu);
  if (viommu?.type !== 'viommu') return { errno: 'ENOENT', detail: `no vIOMMU ${vdev.viommu}` };
  const kvmFd = viommu.kvmVmFd;
  if (kvmFd === undefined && h.switches.bareMetal === 'refuse') {
    return {
      errno: 'ENOENT',
      detail: `vIOMMU ${vdev.viommu} has no KVM VM: every TSM bind needs a VM (bareMetal 'refuse')`,
    };
  }
  const vm = kvmFd === undefined ? undefined : h.kvm.vms.get(kvmFd);
  if (kvmFd !== undefined && !vm) return { errno: 'ENODEV', detail: `KVM VM fd ${kvmFd} is gone` };
  if (h.switches.regionClaim === 'bind') {
    const busy = claimRefusal(d);
    if (busy) return { errno: 'EBUSY', detail: busy };
  }
  return vm ? { vm: vm.vm } : { hostContext: true };
}

/**
 * The bind once checked (tsmBindCheck): pci_tsm_bind, then the claim and the private dma-bufs.
 * `at` is the VM, or (bareMetal 'host-context') the host context made for the bind first.
 */
export async function tsmBindDevice(
  m: HostMachine,
  h: HostState,
  d: VfioDevice,
  vdev: Vdevice,
  at: { vm: string } | { hostContext: true },
): Promise<HostOutcome> {
  const events: HostEvent[] = [];
  let ctx: HostContext | undefined;
  if ('hostContext' in at) {
    const c = await hostContextCreate(m, h, d);
    events.push(...c.events);
    if (!c.ok) return { ...c, events };
    ctx = c.value;
  }
  const vm = ctx ? ctx.vm : (at as { vm: string }).vm;
  if (h.switches.preLockReset === 'flr') {
    const reset = await preLockReset(m, h, d);
    events.push(...reset.events);
    if (!reset.ok) {
      if (ctx) events.push(...(await hostContextDestroy(m, h, ctx)).events);
      return { ...reset, events };
    }
  }
  const r = await pciTsmBind(m, h, { rid: d.rid, vm, vdevId: Number(vdev.virtId) });
  events.push(...r.events);
  if (!r.ok) {
    if (ctx) events.push(...(await hostContextDestroy(m, h, ctx)).events);
    return { ...r, events };
  }
  const dma = await trustedDmaSetup(m, h, d);
  events.push(...dma.events);
  if (!dma.ok) {
    // A bind without its trusted DMA context is no bind: the TDI is stopped and unbound again.
    for (const undo of [pciTsmStop, pciTsmUnbind]) events.push(...(await undo(m, h, d)).events);
    if (ctx) events.push(...(await hostContextDestroy(m, h, ctx)).events);
    return { ...dma, events };
  }
  if (h.switches.regionClaim === 'bind') d.claimed = true;
  d.tsmBound = ctx ? { vdeviceId: vdev.id, hostContext: ctx } : { vdeviceId: vdev.id };
  vdev.tsmBound = true;
  events.push(...(await dmaBufRevoke(m, h, { fds: d.dmaBufs, final: false })).events);
  dmaBufSetPrivate(h, d.dmaBufs, true);
  if (d.memoryEnabled && d.power === 'D0') events.push(...dmaBufRestore(h, d.dmaBufs));
  return { ok: true, value: undefined, events };
}

/**
 * Switch `preLockReset` 'flr': the function reset as VFIO resets it (vfio_pci_core's reset:
 * the dma-bufs revoked around pci_reset_function, restored where memory is enabled in D0),
 * right before pci_tsm_bind reaches the firmware's lock, so the lock finds device memory as
 * the FLR left it. The TDI is CONFIG_UNLOCKED here, where an FLR is no ERROR trigger. A
 * function that cannot be reset is not bound: the bind promised a clean device.
 */
async function preLockReset(m: HostMachine, h: HostState, d: VfioDevice): Promise<HostOutcome> {
  const events: HostEvent[] = [];
  events.push(...(await dmaBufRevoke(m, h, { fds: d.dmaBufs, final: false })).events);
  const r = pciResetFunction(m, d.rid);
  events.push(...r.events);
  if (d.memoryEnabled && d.power === 'D0') events.push(...dmaBufRestore(h, d.dmaBufs));
  return { ...r, events };
}

/**
 * The trusted IOMMU context of a TDI for its VM, the part of the bind SYSTEM.md section 3
 * gives iommufd ("set up trusted IOMMU context, then pci_tsm_bind"): TDX TDH.DMAR.ADD, which
 * the TD then accepts (TDG.DMAR.ACCEPT); SEV the TDI's status checked for the guest's sDTE
 * write; CCA the VDEV's state checked for the Realm's RSI_VDEV_DMA_ENABLE. Every firmware wants
 * the TDI it names, so this model takes it right after pci_tsm_bind rather than before.
 */
async function trustedDmaSetup(m: HostMachine, h: HostState, d: VfioDevice): Promise<HostOutcome> {
  const op = 'iommufd_trusted_dma_setup';
  const args = { rid: hexRid(d.rid) };
  const driver = tsmDriver(m);
  if (!driver) return hostErr('iommufd', op, args, 'ENXIO', `${m.flavour}: no TSM host driver`);
  const r = await driver.enableTrustedDma(m, h, { rid: d.rid });
  if (!r.ok) return hostErr('iommufd', op, args, r.errno, r.detail, r.events);
  return hostOk('iommufd', op, args, undefined, r.events);
}

/** The unbind of a TSM-bound device in the order of switch `unbindOrder`. */
export async function tsmUnbindDevice(
  m: HostMachine,
  h: HostState,
  d: VfioDevice,
): Promise<HostOutcome> {
  const events: HostEvent[] = [];
  // Seeded flaw: the unbind forgets the revocation, so KVM is never told to unmap.
  const forgets = h.vfio.flaws?.includes('vfio-no-revoke-on-unbind') === true;
  const revoke = async (): Promise<void> => {
    if (forgets) return;
    events.push(...(await dmaBufRevoke(m, h, { fds: d.dmaBufs, final: false })).events);
  };
  const step = async (call: () => Promise<HostOutcome>): Promise<HostOutcome | undefined> => {
    const r = await call();
    events.push(...r.events);
    return r.ok ? undefined : { ...r, events: [...events] };
  };
  if (h.switches.unbindOrder === 'revoke-first') await revoke();
  const stopped = await step(() => pciTsmStop(m, h, { rid: d.rid }));
  if (stopped) return stopped;
  if (h.switches.unbindOrder === 'stop-first') await revoke();
  // A host context has no KVM to unmap its MMIO on revoke: the process's mappings go here.
  const ctx = d.tsmBound?.hostContext;
  if (ctx) {
    const gone = await step(() => hostContextUnmapMmio(m, h, ctx));
    if (gone) return gone;
  }
  const unbound = await step(() => pciTsmUnbind(m, h, { rid: d.rid }));
  if (unbound) return unbound;
  if (ctx) {
    const gone = await step(() => hostContextDestroy(m, h, ctx));
    if (gone) return gone;
  }
  const vdev = d.tsmBound && h.iommufd.objects.get(d.tsmBound.vdeviceId);
  if (vdev && vdev.type === 'vdevice') vdev.tsmBound = false;
  d.tsmBound = undefined;
  if (h.switches.regionClaim === 'bind') d.claimed = false;
  dmaBufSetPrivate(h, d.dmaBufs, false);
  if (d.memoryEnabled && d.power === 'D0') events.push(...dmaBufRestore(h, d.dmaBufs));
  return { ok: true, value: undefined, events };
}

/** The vDEVICE `id` of the device's iommufd, if it is one. */
function vdeviceOf(h: HostState, id: number): Vdevice | undefined {
  const o = h.iommufd.objects.get(id);
  return o?.type === 'vdevice' ? o : undefined;
}

/** argsz and flags as VFIO checks them, and the uAPI switch. */
function vfioTsmPrecheck(
  h: HostState,
  op: string,
  args: Record<string, AbiArg>,
  a: { argsz: number; flags: number },
  minsz: number,
): HostOutcome | undefined {
  if (h.switches.bindUapi !== 'vfio') {
    return hostErr('vfio', op, args, 'ENOTTY', 'the TSM bind is on the iommufd vDEVICE');
  }
  if (a.argsz < minsz) return hostErr('vfio', op, args, 'EINVAL', `argsz ${a.argsz} < ${minsz}`);
  if (a.flags !== 0) return hostErr('vfio', op, args, 'EINVAL', 'flags must be 0');
  return undefined;
}

/**
 * VFIO_DEVICE_TSM_BIND {argsz, flags=0, vdevice_id}. -ENOTTY when the bind is on the vDEVICE,
 * -EBADF, -EINVAL short argsz, flags set, a device not bound to iommufd or not bound private,
 * or a vdevice_id that is no vDEVICE or one of another device; -EEXIST, -ENOENT, -ENODEV as
 * tsmBindCheck; -EBUSY while the host has a BAR mmapped; pci_tsm_bind's errno otherwise.
 */
export async function vfioDeviceTsmBind(
  m: HostMachine,
  h: HostState,
  a: { fd: number; argsz: number; flags: number; vdeviceId: number },
): Promise<HostOutcome> {
  const op = 'VFIO_DEVICE_TSM_BIND';
  const args = { fd: a.fd, argsz: a.argsz, flags: a.flags, vdevice_id: a.vdeviceId };
  const pre = vfioTsmPrecheck(h, op, args, a, VFIO_DEVICE_TSM_BIND_MINSZ);
  if (pre) return pre;
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (!d.bound?.private) {
    return hostErr('vfio', op, args, 'EINVAL', 'not bound with VFIO_DEVICE_BIND_IOMMUFD_PRIVATE');
  }
  const vdev = vdeviceOf(h, a.vdeviceId);
  if (!vdev) return hostErr('vfio', op, args, 'EINVAL', `${a.vdeviceId} is not a vDEVICE`);
  const c = tsmBindCheck(h, d, vdev);
  if ('errno' in c) return hostErr('vfio', op, args, c.errno, c.detail);
  const r = await tsmBindDevice(m, h, d, vdev, c);
  if (!r.ok) return hostErr('vfio', op, args, r.errno, r.detail, r.events);
  return hostOk('vfio', op, args, undefined, r.events);
}

/**
 * VFIO_DEVICE_TSM_UNBIND {argsz, flags=0}: the TDI left CONFIG_UNLOCKED with all trusted
 * configuration removed. -ENOTTY, -EBADF, -EINVAL as bind; -ENXIO when not TSM-bound (as
 * pci_tsm_unbind); the unbind step's errno otherwise.
 */
export async function vfioDeviceTsmUnbind(
  m: HostMachine,
  h: HostState,
  a: { fd: number; argsz: number; flags: number },
): Promise<HostOutcome> {
  const op = 'VFIO_DEVICE_TSM_UNBIND';
  const args = { fd: a.fd, argsz: a.argsz, flags: a.flags };
  const pre = vfioTsmPrecheck(h, op, args, a, VFIO_DEVICE_TSM_UNBIND_MINSZ);
  if (pre) return pre;
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (!d.tsmBound) return hostErr('vfio', op, args, 'ENXIO', `${hexRid(d.rid)} is not TSM-bound`);
  const r = await tsmUnbindDevice(m, h, d);
  if (!r.ok) return hostErr('vfio', op, args, r.errno, r.detail, r.events);
  return hostOk('vfio', op, args, undefined, r.events);
}
