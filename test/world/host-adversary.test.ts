/**
 * The host as the guest's adversary, through the world (src/world/ops/host-uapi.ts):
 *
 * - every host uAPI operation's candidates can be performed in any world the others leave
 *   (refused with an errno or a firmware status, never a throw);
 * - revocation end to end (SYSTEM.md section 3, VFIO): VFIO_DEVICE_RESET, the hot reset, close,
 *   MSE clear, the TSM unbind and the vDEVICE's destroy under a running TDI unbind first
 *   (switch 5 'unbind'), revoke the private dma-bufs so KVM unmaps, the flavour's host ABI
 *   removes the firmware's mapping, and the buffers come back shared (or stay revoked or closed);
 *   before a bind the same triggers zap KVM's shared mapping and restore the buffer;
 * - invariant 10 on the faithful model: KVM taking private MMIO from under a running guest is
 *   refused (TDX), fences the ASID (SEV) or kills the Realm (CCA), and the guest sees it;
 * - switch 10 (unbindOrder) driven by the host's unbind behind the VMM, the guest observing,
 *   and by the guest's unlock the VMM carries, then the VMM's release;
 * - switches 5 and 6 through the world.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vmmRun } from '../../src/host/vmm/index.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import { PAGE_SHIFT, pfnKey } from '../../src/platform/ids.ts';
import { pfnValues } from '../../src/platform/pfn-table.ts';
import { WorldError } from '../../src/world/errors.ts';
import { checkInvariants } from '../../src/world/invariants.ts';
import { HOST_UAPI_OPS } from '../../src/world/ops/host-uapi.ts';
import { World, type WorldConfig, type WorldStep } from '../../src/world/world.ts';

const FLAVOURS: FlavourName[] = ['tdx', 'sev', 'cca'];
const LIFECYCLE = ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign'];
const TO_RUN = [...LIFECYCLE, 'guest.tsm/lock', 'guest.attest', 'guest.tsm/accept'];

/** What the guest sees when its private MMIO is taken away, per flavour (SYSTEM.md I10). */
const SEEN: Record<FlavourName, string> = { tdx: 'faulted', sev: 'all-ones', cca: 'realm-killed' };

async function world(flavour: FlavourName, config: Partial<WorldConfig> = {}, steps = TO_RUN) {
  const w = await World.create({ flavour, seed: `host-adversary ${flavour}`, ...config });
  for (const d of steps) {
    const r = await w.perform({ do: d });
    assert.equal(r.ok, true, `${d}: ${r.errno} ${r.detail}`);
  }
  return w;
}

/** One step, with the violations it caused. */
async function step(w: World, s: WorldStep) {
  const before = w.frozenView();
  const r = await w.perform(s);
  return { r, violations: checkInvariants(w.view(), r.events, before) };
}

const calls = (events: readonly { kind: string; call?: unknown }[]) =>
  new Set(events.filter((e) => e.kind === 'abi').map((e) => String(e.call)));

/** The VMM's device of the world's first VM: its fds, vDEVICE and BAR slot. */
function assigned(w: World) {
  const vm = [...w.s.vms.values()][0];
  const d = [...vm.devices.values()][0];
  return { vmFd: vm.vmFd, d, bar: d.bars[0] };
}

/** Private MMIO the world still maps for the TDI: KVM's mirror and the firmware's table. */
function privateMmio(w: World): { mirror: number; sept: number } {
  let mirror = 0;
  for (const vm of w.h.kvm.vms.values()) {
    for (const e of pfnValues(vm.mirror)) if (e.kind === 'mmio') mirror++;
  }
  let sept = 0;
  for (const s of w.pw.p.hw.septs.values()) {
    for (const e of pfnValues(s.entries)) {
      if (e.target.kind === 'mmio' && e.state !== 'removed') sept++;
    }
  }
  return { mirror, sept };
}

describe('host uAPI operations: every candidate, in the worlds the others leave', () => {
  it('are in the world', () => {
    for (const name of Object.keys(HOST_UAPI_OPS)) assert.ok(World.operations.has(name), name);
  });

  for (const flavour of FLAVOURS) {
    it(`${flavour}: from RUN, each operation's candidates in turn; an errno or status for each refusal, nothing thrown`, async () => {
      const w = await world(flavour, { switches: { unbindOrder: 'revoke-first' } });
      let tried = 0;
      for (const [name, op] of Object.entries(HOST_UAPI_OPS)) {
        assert.ok(op.candidates, `${name} offers candidates`);
        for (const s of op.candidates(w)) {
          assert.equal(s.do, name);
          const r = await w.perform(s);
          tried++;
          assert.equal(typeof r.ok, 'boolean');
          if (!r.ok) {
            assert.match(r.errno ?? '', /^[A-Z][A-Z0-9_]+$/, JSON.stringify(s));
            assert.ok(r.detail, JSON.stringify(s));
          }
        }
      }
      assert.ok(tried > 40, `${tried} steps tried`);
    });
  }

  it('a step naming a VM or TDI the world does not have is a WorldError; a bad argument too', async () => {
    const w = await world('tdx', {}, []);
    await assert.rejects(w.perform({ do: 'host.kvm/memslot', vm: 'nope' }), WorldError);
    await assert.rejects(w.perform({ do: 'host.vfio/open', tdi: 99 }), WorldError);
    await assert.rejects(
      w.perform({ do: 'host.vfio/bar-read', args: { fd: 3, offset: 'x' } }),
      WorldError,
    );
    // An fd nothing holds, an uncreated VM, a call the firmware does not have: refusals.
    assert.equal((await w.perform({ do: 'host.vfio/close', args: { fd: 42 } })).errno, 'EBADF');
    assert.equal((await w.perform({ do: 'host.kvm/memslot' })).errno, 'EBADF');
    const abi = await w.perform({ do: 'host.tsm-abi/call', args: { call: 'TDH.NOPE' } });
    assert.equal(abi.errno, 'EINVAL');
    // Ranges as large as the uAPI takes: the whole IOVA space, a 2^60-byte conversion.
    const huge = await world('tdx', {}, LIFECYCLE);
    const ioas = [...huge.h.iommufd.objects.values()].find((o) => o.type === 'ioas');
    assert.ok(ioas);
    const all = await huge.perform({
      do: 'host.iommufd/ioas-unmap',
      args: { ioas: ioas.id, iova: 0, length: '0xfffffffffffff000' },
    });
    assert.equal(all.ok, true);
    const attrs = await huge.perform({
      do: 'host.kvm/set-memory-attributes',
      vm: 'vm1',
      args: { gpa: 0, size: '0x1000000000000000', attributes: 8 },
    });
    assert.equal(attrs.errno, 'ENOMEM');
    const typed = await w.perform({
      do: 'host.tsm-abi/call',
      args: { call: 'TDH.MMIO.BLOCK', td: 'kvm-vm-3', gfn: 0 },
    });
    assert.equal(typed.ok, false);
  });
});

describe('revocation end to end under a running TDI (switch 5 unbind, switch 10 stop-first)', () => {
  const UNMAP: Record<FlavourName, string> = {
    tdx: 'TDH.MMIO.UNMAP',
    sev: 'TIO_TDI_UNBIND',
    cca: 'RMI_VDEV_UNMAP',
  };
  const triggers: { name: string; step: (w: World) => Promise<WorldStep>; after: string }[] = [
    {
      name: 'VFIO_DEVICE_RESET',
      step: async (w) => ({ do: 'host.vfio/reset', args: { fd: assigned(w).d.vfioFd } }),
      after: 'live',
    },
    {
      name: 'VFIO_DEVICE_PCI_HOT_RESET (every function on the bus opened first)',
      step: async (w) => {
        for (const fn of w.pw.dev.device.functions()) {
          if (fn === w.tdiFn({ do: 'x' })) continue;
          assert.equal((await w.perform({ do: 'host.vfio/open', tdi: fn })).ok, true);
        }
        return { do: 'host.vfio/hot-reset', args: { fd: assigned(w).d.vfioFd } };
      },
      after: 'live',
    },
    { name: 'MSE clear', step: async () => ({ do: 'host.mse-clear' }), after: 'revoked' },
    {
      name: 'close',
      step: async (w) => ({ do: 'host.vfio/close', args: { fd: assigned(w).d.vfioFd } }),
      after: 'closed',
    },
    {
      name: 'IOMMU_VDEVICE_TSM_OP UNBIND behind the VMM',
      step: async (w) => ({
        do: 'host.iommufd/vdevice-tsm-unbind',
        args: { vdevice: assigned(w).d.vdevice },
      }),
      after: 'live',
    },
    {
      name: 'IOMMU_DESTROY of the bound vDEVICE',
      step: async (w) => ({
        do: 'host.iommufd/vdevice-destroy',
        args: { vdevice: assigned(w).d.vdevice },
      }),
      after: 'live',
    },
  ];
  for (const flavour of FLAVOURS) {
    for (const t of triggers) {
      it(`${flavour}: ${t.name}: unbound, KVM and the firmware unmapped (${UNMAP[flavour]}), the buffer ${t.after} and shared, the guest sees '${SEEN[flavour]}'`, async () => {
        const w = await world(flavour);
        const { bar } = assigned(w);
        assert.ok(privateMmio(w).sept > 0 && privateMmio(w).mirror > 0);
        const { r, violations } = await step(w, await t.step(w));
        assert.equal(r.ok, true, `${r.errno} ${r.detail}`);
        assert.deepEqual(violations, []);
        assert.equal(w.tdiState({ do: 'x' }), 'CONFIG_UNLOCKED');
        assert.ok(calls(r.events).has(UNMAP[flavour]));
        assert.deepEqual(privateMmio(w), { mirror: 0, sept: 0 });
        const buf = w.h.dmaBufs.bufs.get(bar.dmaBuf);
        assert.equal(buf?.state, t.after);
        assert.equal(buf?.private, false);
        const g = await w.perform({ do: 'guest.mmio-read' });
        assert.equal(g.errno, SEEN[flavour]);
      });
    }
  }

  it('after the reset the buffer is restored: KVM maps the BAR again, shared', async () => {
    const w = await world('tdx');
    const { vmFd, d, bar } = assigned(w);
    assert.equal((await w.perform({ do: 'host.vfio/reset', args: { fd: d.vfioFd } })).ok, true);
    const r = await vmmRun(w.m, w.h, w.s, vmFd, { gpa: bar.gpa, private: false });
    assert.equal(r.ok, true, r.ok ? '' : r.detail);
    assert.deepEqual(r.ok && r.value, { exit: 'none', mapped: 'shared' });
  });
});

describe('revocation before a bind: the shared mapping goes and comes back', () => {
  for (const flavour of FLAVOURS) {
    it(`${flavour}: VFIO_DEVICE_RESET zaps KVM's shared BAR mapping and restores the buffer; close revokes it for good`, async () => {
      const w = await world(flavour, {}, LIFECYCLE);
      const { vmFd, d, bar } = assigned(w);
      const gfn = bar.gpa >> PAGE_SHIFT;
      const kvm = w.h.kvm.vms.get(vmFd);
      const fault = await vmmRun(w.m, w.h, w.s, vmFd, { gpa: bar.gpa, private: false });
      assert.equal(fault.ok, true);
      assert.ok(kvm?.sharedMapped[pfnKey(gfn)] !== undefined);
      const reset = await step(w, { do: 'host.vfio/reset', args: { fd: d.vfioFd } });
      assert.equal(reset.r.ok, true);
      assert.deepEqual(reset.violations, []);
      assert.equal(kvm?.sharedMapped[pfnKey(gfn)] !== undefined, false);
      const ops = reset.r.events.map((e) => (e as { op?: string }).op);
      assert.ok(ops.indexOf('dma_buf_move_notify') < ops.indexOf('dma_buf_restore'));
      assert.equal(w.h.dmaBufs.bufs.get(bar.dmaBuf)?.state, 'live');
      const close = await step(w, { do: 'host.vfio/close', args: { fd: d.vfioFd } });
      assert.equal(close.r.ok, true);
      assert.deepEqual(close.violations, []);
      assert.equal(w.h.dmaBufs.bufs.get(bar.dmaBuf)?.state, 'closed');
      const again = await w.perform({
        do: 'host.kvm/memslot',
        vm: 'vm1',
        args: { slot: 9, flags: 8, fd: bar.dmaBuf, gpa: '0x80000000', size: Number(bar.size) },
      });
      assert.equal(again.errno, 'ENODEV');
    });
  }
});

describe('invariant 10 on the faithful model: KVM takes private MMIO from under a running guest', () => {
  const ANSWER: Record<FlavourName, { ok: boolean; guest: string }> = {
    tdx: { ok: false, guest: 'ok' },
    sev: { ok: true, guest: 'all-ones' },
    cca: { ok: true, guest: 'realm-killed' },
  };
  for (const flavour of FLAVOURS) {
    for (const how of ['memslot delete', 'KVM_SET_MEMORY_ATTRIBUTES to shared'] as const) {
      it(`${flavour}: ${how}: ${flavour === 'tdx' ? 'TDX refuses (EBUSY), the guest reads on' : `done, the guest sees '${ANSWER[flavour].guest}'`}; no invariant breaks`, async () => {
        const w = await world(flavour);
        const { bar } = assigned(w);
        const s: WorldStep =
          how === 'memslot delete'
            ? {
                do: 'host.kvm/memslot',
                vm: 'vm1',
                args: { slot: bar.slot, flags: 8, gpa: Number(bar.gpa), size: 0 },
              }
            : {
                do: 'host.kvm/set-memory-attributes',
                vm: 'vm1',
                args: { gpa: Number(bar.gpa), size: 4096 },
              };
        const { r, violations } = await step(w, s);
        assert.equal(r.ok, ANSWER[flavour].ok, `${r.errno} ${r.detail}`);
        if (!r.ok) assert.equal(r.errno, 'EBUSY');
        assert.deepEqual(violations, []);
        assert.equal(w.tdiState({ do: 'x' }), 'RUN');
        const g = await w.perform({ do: 'guest.mmio-read' });
        assert.equal(g.ok ? 'ok' : g.errno, ANSWER[flavour].guest);
      });
    }
  }
});

describe('switch 10 (unbindOrder): the host unbinds behind the VMM, the guest observes', () => {
  for (const flavour of FLAVOURS) {
    for (const unbindOrder of ['stop-first', 'revoke-first'] as const) {
      const refused = flavour === 'tdx' && unbindOrder === 'revoke-first';
      it(`${flavour} '${unbindOrder}': ${refused ? 'KVM refused under the locked TDI: -EBUSY after the stop, I3 broken by the design answer' : 'unbound'}; the guest sees '${SEEN[flavour]}'`, async () => {
        const w = await world(flavour, { switches: { unbindOrder } });
        const { d } = assigned(w);
        const { r, violations } = await step(w, {
          do: 'host.iommufd/vdevice-tsm-unbind',
          args: { vdevice: d.vdevice },
        });
        assert.equal(r.ok, !refused, `${r.errno} ${r.detail}`);
        assert.deepEqual([...new Set(violations.map((v) => v.invariant))], refused ? ['I3'] : []);
        assert.equal(w.tdiState({ do: 'x' }), 'CONFIG_UNLOCKED');
        const g = await w.perform({ do: 'guest.mmio-read' });
        assert.equal(g.errno, SEEN[flavour]);
        if (!refused) return;
        // The refused unmap left KVM's mirror and the module's table as they were, in step.
        assert.ok(privateMmio(w).mirror > 0);
        assert.equal(privateMmio(w).mirror, privateMmio(w).sept);
        // A second unbind, now after the stop, unmaps and completes.
        const again = await step(w, {
          do: 'host.iommufd/vdevice-tsm-unbind',
          args: { vdevice: d.vdevice },
        });
        assert.equal(again.r.ok, true, `${again.r.errno} ${again.r.detail}`);
        assert.deepEqual(privateMmio(w), { mirror: 0, sept: 0 });
      });
    }
  }
});

describe("switch 10 (unbindOrder) through the VMM: the guest's unlock, then the VMM's release", () => {
  for (const flavour of FLAVOURS) {
    for (const unbindOrder of ['stop-first', 'revoke-first'] as const) {
      const refused = flavour === 'tdx' && unbindOrder === 'revoke-first';
      it(`${flavour} '${unbindOrder}': ${refused ? "the unlock is -EBUSY after the stop (I3: KVM's refused unmap of a revoked buffer); the TD's next access faults; the release completes" : 'the unlock completes, the release too, nothing left'}`, async () => {
        const w = await world(flavour, { switches: { unbindOrder } });
        const unlock = await step(w, { do: 'guest.tsm/unlock' });
        assert.equal(unlock.r.ok, !refused, `${unlock.r.errno} ${unlock.r.detail}`);
        assert.deepEqual(
          [...new Set(unlock.violations.map((v) => v.invariant))],
          refused ? ['I3'] : [],
        );
        assert.equal(w.tdiState({ do: 'x' }), 'CONFIG_UNLOCKED');
        const g = await w.perform({ do: 'guest.mmio-read' });
        // The guest that unlocked knows its device is no longer accepted; the one refused sees.
        assert.equal(g.errno, refused ? 'faulted' : 'EINVAL');
        const release = await step(w, { do: 'vmm.release' });
        assert.equal(release.r.ok, true, `${release.r.errno} ${release.r.detail}`);
        assert.deepEqual(release.violations, []);
        assert.deepEqual(privateMmio(w), { mirror: 0, sept: 0 });
      });
    }
  }
});

describe('switches 5 and 6 through the world', () => {
  for (const flavour of FLAVOURS) {
    it(`${flavour}: resetWhileBound 'refuse': reset, hot reset, close, MSE clear are EBUSY under RUN and change nothing`, async () => {
      const w = await world(flavour, { switches: { resetWhileBound: 'refuse' } });
      const { d } = assigned(w);
      for (const s of [
        { do: 'host.vfio/reset', args: { fd: d.vfioFd } },
        { do: 'host.vfio/close', args: { fd: d.vfioFd } },
        { do: 'host.mse-clear' },
      ]) {
        const before = structuredClone(w.h);
        const { r, violations } = await step(w, s);
        assert.equal(r.errno, 'EBUSY', s.do);
        assert.deepEqual(violations, []);
        assert.deepEqual(w.h, before, s.do);
        assert.equal(w.tdiState({ do: 'x' }), 'RUN');
      }
      assert.equal((await w.perform({ do: 'guest.mmio-read' })).ok, true);
    });
  }

  it("regionClaim 'bind': the host may mmap the BAR before the bind, and the guest's lock is then refused; 'open': the mmap is refused from the assign on", async () => {
    const w = await world('tdx', { switches: { regionClaim: 'bind' } }, LIFECYCLE);
    const { d } = assigned(w);
    assert.equal((await w.perform({ do: 'host.vfio/mmap', args: { fd: d.vfioFd } })).ok, true);
    const lock = await step(w, { do: 'guest.tsm/lock' });
    assert.equal(lock.r.ok, false);
    assert.match(lock.r.detail ?? '', /mmapped/);
    assert.deepEqual(lock.violations, []);
    assert.equal(w.tdiState({ do: 'x' }), 'CONFIG_UNLOCKED');
    assert.equal((await w.perform({ do: 'host.vfio/munmap', args: { fd: d.vfioFd } })).ok, true);
    assert.equal((await w.perform({ do: 'guest.tsm/lock' })).ok, true);

    const o = await world('tdx', { switches: { regionClaim: 'open' } }, LIFECYCLE);
    const mmap = await o.perform({ do: 'host.vfio/mmap', args: { fd: assigned(o).d.vfioFd } });
    assert.equal(mmap.errno, 'EINVAL');
  });
});
