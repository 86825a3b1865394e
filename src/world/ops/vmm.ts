/**
 * The VMM's operations (QEMU's part): create the confidential VM, assign a TDI to it through
 * VFIO, iommufd and dma-buf memslots, release it and destroy the VM; and the VMM as the
 * adversary of the guest's TSM requests (vmm.relay: drop, delay, replay, rewrite).
 */
import { createGuestState, type GuestDeviceConfig } from '../../guest/state.ts';
import { sevGuestOf } from '../../host/tsm/sev/index.ts';
import {
  carryTsmCall,
  vmmAssignDevice,
  vmmCreateVm,
  vmmDestroyVm,
  vmmFinalizeVm,
  vmmRelaySet,
  vmmReleaseDevice,
} from '../../host/vmm/index.ts';
import { WorldError } from '../errors.ts';
import { flawsIn } from '../flaws.ts';
import type { StepEvent } from '../invariants.ts';
import { arg, fromHost, refused } from './result.ts';
import type { OpTable } from './types.ts';

const VDEV_BASE = 0x10;
const DEFAULT_RAM_PAGES = 64;

export const VMM_OPS: OpTable = {
  'vmm.create-vm': {
    actor: 'vmm',
    run: async (w, step) => {
      const v = w.vm(step);
      if (v.vmFd !== undefined) return refused('EEXIST', `VM '${v.name}' exists`);
      const c = await vmmCreateVm(w.m, w.h, w.s, {
        ramPages: v.config.ramPages ?? DEFAULT_RAM_PAGES,
      });
      if (!c.ok) return fromHost(c);
      const f = await vmmFinalizeVm(w.m, w.h, w.s, c.value);
      const events = [...c.events, ...f.events];
      if (!f.ok) return { ...fromHost(f), events: events as StepEvent[] };
      v.vmFd = c.value;
      const kvmName = w.s.vms.get(c.value)?.vm ?? '';
      v.firmwareVm =
        w.flavour === 'sev' ? (sevGuestOf(w.h, kvmName)?.firmwareVm ?? kvmName) : kvmName;
      v.guest = createGuestState(
        w.flavour,
        [],
        `${w.config.seed ?? 'teeio'} ${v.name}`,
        flawsIn(w.flaws, 'guest'),
      );
      v.gm = w.guestMachineOf(v);
      return { ok: true, value: c.value, events: events as StepEvent[] };
    },
  },
  'vmm.assign': {
    actor: 'vmm',
    run: async (w, step) => {
      const v = w.vm(step);
      if (v.vmFd === undefined || !v.guest)
        return refused('EBADF', `VM '${v.name}' is not created`);
      const fn = w.tdiFn(step);
      const vdevId = VDEV_BASE + v.vdevs.size;
      const r = await vmmAssignDevice(w.m, w.h, w.s, v.vmFd, { rid: w.rid(fn), vdevId });
      if (!r.ok) return fromHost(r);
      const tdi = w.pw.dev.tdis().find((t) => t.fn === fn);
      if (!tdi) throw new WorldError(`no TDI at function ${fn}`);
      const config: GuestDeviceConfig = {
        vdevId,
        interfaceId: tdi.interfaceId,
        bars: r.value.bars.map((b) => ({ index: b.bar, address: b.gpa, size: b.size })),
        devsec: true,
        role: v.config.devices?.find((d) => d.tdi === fn)?.role ?? 'guest-kernel',
      };
      const g = createGuestState(w.flavour, [config], v.guest.seed);
      for (const [id, d] of g.devices) v.guest.devices.set(id, d);
      v.vdevs.set(fn, vdevId);
      return fromHost(r);
    },
  },
  'vmm.release': {
    actor: 'vmm',
    run: async (w, step) => {
      const v = w.vm(step);
      const fn = w.tdiFn(step);
      const vdevId = v.vdevs.get(fn);
      if (v.vmFd === undefined || vdevId === undefined) {
        return refused('ENODEV', `function ${fn} is not assigned to '${v.name}'`);
      }
      const r = await vmmReleaseDevice(w.m, w.h, w.s, v.vmFd, vdevId);
      if (r.ok) {
        v.vdevs.delete(fn);
        v.guest?.devices.delete(vdevId);
      }
      return fromHost(r);
    },
  },
  'vmm.destroy-vm': {
    actor: 'vmm',
    run: async (w, step) => {
      const v = w.vm(step);
      if (v.vmFd === undefined) return refused('EBADF', `VM '${v.name}' is not created`);
      const r = await vmmDestroyVm(w.m, w.h, w.s, v.vmFd);
      if (r.ok) {
        v.vmFd = undefined;
        v.gm = undefined;
        v.guest = undefined;
        v.vdevs.clear();
      }
      return fromHost(r);
    },
  },
  'vmm.relay': {
    actor: 'vmm',
    run: async (w, step) => {
      const v = w.vm(step);
      if (v.vmFd === undefined) return refused('EBADF', `VM '${v.name}' is not created`);
      const vmFd = v.vmFd;
      const mode = String(step.args?.mode ?? 'pass');
      return fromHost(
        await vmmRelaySet(w.s, vmFd, { mode, count: arg(step, 'count', 1) }, (call) => {
          const d = w.s.vms.get(vmFd)?.devices.get(call.vdevId);
          return d
            ? carryTsmCall(w.m, w.h, d, call)
            : Promise.resolve(fromHostRefusal(`no device at virtual BDF ${call.vdevId}`));
        }),
      );
    },
    // The attacks on what the guest is handed: a rewritten report, and once an answer is
    // captured a replayed one. Drop and delay stall the lifecycle (the guest refuses and
    // retries) and are the operation's for scenarios, not the explorer's moves: taken first
    // as the least tried, they would keep every walk from reaching the states that matter.
    candidates: (w) =>
      [...w.vms.values()]
        .filter((v) => v.vmFd !== undefined)
        .flatMap((v) => {
          const captured = Object.keys(w.s.vms.get(v.vmFd ?? -1)?.relay?.captured ?? {}).length > 0;
          const modes = captured ? ['rewrite', 'replay'] : ['rewrite'];
          return modes.map((mode) => ({ do: 'vmm.relay', vm: v.name, args: { mode, count: 1 } }));
        }),
  },
};

/** A held request whose device the VMM no longer has: nothing to carry. */
function fromHostRefusal(detail: string) {
  return { ok: false as const, errno: 'ENODEV' as const, detail, events: [] };
}
