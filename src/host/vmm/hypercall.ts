/**
 * The VMM's side of the guest's hypercalls (SYSTEM.md sections 3 and 4): what the guest asks
 * the untrusted host to do for it, exiting to userspace as KVM_EXIT_HYPERCALL (TDX's
 * TDG.VP.VMCALL, SEV's VMGEXIT, CCA's RSI_HOST_CALL), and the uAPI calls QEMU makes for each:
 *
 * - 'tsm-bind': the TSM bind of the device at `vdevId`, VFIO_DEVICE_TSM_BIND or
 *   IOMMU_VDEVICE_TSM_OP BIND by switch `bindUapi` (open question 1); for a device the VMM
 *   bound early (switch `bindTime`, open question 4) no second bind, success (EARLY_BOUND);
 * - 'tsm-unbind': VFIO_DEVICE_TSM_UNBIND or IOMMU_VDEVICE_TSM_OP UNBIND, the kernel taking
 *   the steps in the order of switch `unbindOrder` (open question 10);
 * - 'tsm-guest-req': IOMMU_VDEVICE_TSM_REQ, which iommufd offers under both bind uAPIs; the
 *   driver's answer goes back to the guest as it came;
 * - 'map-gpa': KVM_SET_MEMORY_ATTRIBUTES, private or shared (KVM_HC_MAP_GPA_RANGE).
 *
 * The TSM requests (all but map-gpa) pass the VMM's relay (relay.ts), which a hostile VMM
 * sets to drop, delay, replay or rewrite the next ones.
 *
 * The shapes are guest/machine.ts's GuestHypercall and HypercallResult, declared again here
 * (host/ and guest/ do not import each other; the world passes one for the other). A host
 * refusal reaches the guest as { ok: false, errno, detail } and nothing more.
 */
import type { AbiArg, Hypercall, HypercallAnswer } from '../../platform/abi.ts';
import { IOMMU_VDEVICE_TSM_BIND, IOMMU_VDEVICE_TSM_UNBIND } from '../iommufd/uapi.ts';
import { iommuVdeviceTsmOp, iommuVdeviceTsmReq } from '../iommufd/vdevice-tsm.ts';
import { kvmSetMemoryAttributes } from '../kvm/attributes.ts';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../kvm/uapi.ts';
import type { HostMachine } from '../machine.ts';
import type { HostOutcome } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { vfioDeviceTsmBind, vfioDeviceTsmUnbind } from '../vfio/tsm.ts';
import { VFIO_DEVICE_TSM_BIND_MINSZ, VFIO_DEVICE_TSM_UNBIND_MINSZ } from '../vfio/uapi.ts';
import { vmmErr, vmmFailed, vmmOk } from './outcome.ts';
import {
  type RelayDecision,
  type RelayedCall,
  relayAnswered,
  relayDecide,
  relayOf,
} from './relay.ts';
import type { VmmDevice, VmmState } from './state.ts';

/** A guest's hypercall, as the VMM receives it (platform/abi.ts). */
export type VmmHypercall = Hypercall;

/** The VMM's answer (platform/abi.ts). */
export type VmmHypercallResult = HypercallAnswer;

const OP = 'KVM_EXIT_HYPERCALL';
const PAGE = 0x1000n;

/** The event arguments of a hypercall (the message itself stays the guest's business). */
function argsOf(vm: number, call: VmmHypercall): Record<string, AbiArg> {
  switch (call.op) {
    case 'map-gpa':
      return { vmFd: vm, call: call.op, gpa: call.gpa, pages: call.pages, private: call.private };
    case 'tsm-guest-req':
      return { vmFd: vm, call: call.op, vdevId: call.vdevId, scope: call.scope };
    default:
      return { vmFd: vm, call: call.op, vdevId: call.vdevId };
  }
}

/**
 * The guest of VM fd `vm` made hypercall `call`: the VMM's uAPI calls for it, and their answer
 * (a HostOutcome is a VmmHypercallResult with the events that led to it). -EBADF a VM this VMM
 * does not run; -ENODEV no device at `vdevId`; -EINVAL a map-gpa of no pages; the uAPI's errno
 * otherwise.
 */
export async function vmmHypercall(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  vm: number,
  call: VmmHypercall,
): Promise<HostOutcome<unknown>> {
  const args = argsOf(vm, call);
  const v = s.vms.get(vm);
  if (!v) return vmmErr(OP, args, 'EBADF', `fd ${vm} is not a VM of this VMM`);
  if (call.op === 'map-gpa') {
    if (!Number.isInteger(call.pages) || call.pages <= 0) {
      return vmmErr(OP, args, 'EINVAL', `${call.pages} pages`);
    }
    const r = await kvmSetMemoryAttributes(m, h, {
      vmFd: vm,
      address: call.gpa,
      size: BigInt(call.pages) * PAGE,
      attributes: call.private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
      flags: 0,
    });
    return r.ok ? vmmOk(OP, args, null, r.events) : vmmFailed(OP, args, r, r.events);
  }
  const d = v.devices.get(call.vdevId);
  if (!d) return vmmErr(OP, args, 'ENODEV', `no device at virtual BDF ${call.vdevId}`);
  // The VMM's relay (relay.ts): what it does with this TSM request.
  // (made on the first answer it keeps: a refusal leaves the VMM's records as they were)
  const decision: RelayDecision = v.relay
    ? relayDecide(v.relay, call)
    : { act: 'carry', rewrite: false };
  if (decision.act === 'answer') {
    const res = decision.result;
    if (res.ok) {
      const what = res.value === null ? 'dropped' : 'replayed';
      return vmmOk(OP, { ...args, relay: what }, res.value);
    }
    return vmmErr(OP, { ...args, relay: 'held' }, res.errno, 'the VMM has not carried it');
  }
  const early = call.op === 'tsm-bind' && d.boundEarly;
  const r = await carryTsmCall(m, h, d, call);
  if (!r.ok) return vmmFailed(OP, args, r, r.events);
  const a = relayAnswered(relayOf(v), call, r.value ?? null, decision.rewrite);
  const done = early ? { ...args, bound: 'early' } : args;
  return vmmOk(OP, a.rewritten ? { ...done, relay: 'rewritten' } : done, a.value, r.events);
}

/**
 * The answer to the guest's tsm-bind for a device the VMM bound early: success, the binding
 * being the one the guest asks for (its VM, its virtual BDF). Per flavour that is what the
 * firmware already holds: TDX a DEVIF for this TD, locked by TDH.DEVIF.REQUEST; SEV
 * TIO_TDI_BIND done with this guest's context and guest device id; CCA a VDEV of this Realm
 * at this vdev id, locked by RMI_VDEV_LOCK. A second bind would be refused by the kernel
 * (-EEXIST) and by each firmware (DEVIF, TDI or VDEV exists), which tells the guest nothing
 * it can use: the guest learns the TDI's state from its firmware (TDG.DEVIF.RD,
 * TIO_MSG_TDI_INFO_REQ, RSI_VDEV_GET_INFO), never from this answer.
 */
export const EARLY_BOUND = Object.freeze({ bound: 'early' });

/** One TSM request carried to the kernel: bind, unbind or IOMMU_VDEVICE_TSM_REQ. */
export async function carryTsmCall(
  m: HostMachine,
  h: HostState,
  d: VmmDevice,
  call: RelayedCall,
): Promise<HostOutcome<unknown>> {
  if (call.op === 'tsm-bind' && d.boundEarly) return { ok: true, value: EARLY_BOUND, events: [] };
  const r =
    call.op === 'tsm-bind'
      ? await tsmBind(m, h, d)
      : call.op === 'tsm-unbind'
        ? await tsmUnbind(m, h, d)
        : await iommuVdeviceTsmReq(m, h, {
            vdeviceId: d.vdevice,
            request: { scope: call.scope, message: call.message },
          });
  if (r.ok && call.op === 'tsm-bind') d.tsmBound = true;
  // An unbind, or -ENXIO (the kernel unbound it already: a reset, the host's own unbind),
  // ends the VMM's record of a bind, an early one too: the guest's next lock is a bind of
  // its own.
  if (call.op === 'tsm-unbind' && (r.ok || r.errno === 'ENXIO')) {
    d.tsmBound = false;
    d.boundEarly = false;
  }
  return r;
}

/** The TSM bind of an assigned device through the uAPI switch `bindUapi` names. */
export function tsmBind(m: HostMachine, h: HostState, d: VmmDevice): Promise<HostOutcome> {
  return h.switches.bindUapi === 'vfio'
    ? vfioDeviceTsmBind(m, h, {
        fd: d.vfioFd,
        argsz: VFIO_DEVICE_TSM_BIND_MINSZ,
        flags: 0,
        vdeviceId: d.vdevice,
      })
    : iommuVdeviceTsmOp(m, h, { vdeviceId: d.vdevice, type: IOMMU_VDEVICE_TSM_BIND, flags: 0 });
}

/** The TSM unbind of an assigned device through the uAPI switch `bindUapi` names. */
export function tsmUnbind(m: HostMachine, h: HostState, d: VmmDevice): Promise<HostOutcome> {
  return h.switches.bindUapi === 'vfio'
    ? vfioDeviceTsmUnbind(m, h, { fd: d.vfioFd, argsz: VFIO_DEVICE_TSM_UNBIND_MINSZ, flags: 0 })
    : iommuVdeviceTsmOp(m, h, { vdeviceId: d.vdevice, type: IOMMU_VDEVICE_TSM_UNBIND, flags: 0 });
}
