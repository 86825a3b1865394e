/**
 * VFIO's three roles (SYSTEM.md section 1) and bare-metal TIO (section 6 question 2, switch
 * bareMetal) through the world's operations, per flavour where the flavours differ:
 *
 * - the role table itself: who may lock, accept, bind, for each role, with Linux's errno;
 * - guest VFIO as attester (tdx, sev) and for a TEE user (tdx, cca): the userspace's DMA
 *   lands in the guest's private page as T=1 traffic of a TDI in RUN, and its MMIO reaches the
 *   device's register;
 * - host VFIO as helper (tdx, sev, cca): the host's bind locks, its unbind leaves no firmware
 *   binding, no trusted DMA context and no secure-EPT MMIO of the TDI; its own START is
 *   refused by TDX and granted by SEV and CCA, and then the guest's attester refuses the TDI;
 * - bare metal (tdx, sev, cca) in both positions: -ENOENT and no firmware context under 'refuse';
 *   RUN, MMIO and a T=1 DMA into the process's page with no KVM VM under 'host-context', and
 *   the context gone after unlock;
 * - a snapshot taken with a bare-metal process bound restores it (its records, and its
 *   machine over the host context, rebuilt from the binding);
 * - the explorer's honest backbone walks each role's own path with every step succeeding;
 * - every candidate step of the new operations runs in a world at RUN and in one with nothing
 *   set up, and answers (no exception): the explorer's moves are safe in any state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GuestDevice, GuestRole } from '../../src/guest/state.ts';
import { type RoleActor, roleRefusal } from '../../src/guest/vfio/role.ts';
import { DEFAULT_HOST_SWITCHES } from '../../src/host/switches.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import { pfnValues } from '../../src/platform/pfn-table.ts';
import { defaultBackbone } from '../../src/scenario/explore/moves.ts';
import { checkInvariants } from '../../src/world/invariants.ts';
import { GUEST_VFIO_OPS } from '../../src/world/ops/guest-vfio.ts';
import { HOST_ROLE_OPS } from '../../src/world/ops/host-roles.ts';
import type { StepResult } from '../../src/world/ops/index.ts';
import { World, type WorldConfig, type WorldStep } from '../../src/world/world.ts';

const FN = 1;

async function world(flavour: FlavourName, c: Partial<WorldConfig> = {}, role?: GuestRole) {
  return World.create({
    flavour,
    seed: `roles ${flavour}`,
    vms: [{ name: 'vm1', devices: [{ tdi: FN, ...(role ? { role } : {}) }] }],
    ...c,
  });
}

/** Runs `steps`; each must succeed unless it names its errno; no invariant may break. */
async function run(w: World, steps: (string | [string, string] | WorldStep)[]) {
  const out: StepResult[] = [];
  for (const s of steps) {
    const step: WorldStep =
      typeof s === 'string' ? { do: s, tdi: FN } : Array.isArray(s) ? { do: s[0], tdi: FN } : s;
    const want = Array.isArray(s) ? s[1] : undefined;
    const before = w.frozenView();
    const r = await w.perform(step);
    const label = `${step.do}: ${r.errno ?? 'ok'} ${r.detail ?? ''}`;
    if (want) assert.equal(r.errno, want, label);
    else assert.equal(r.ok, true, label);
    assert.deepEqual(checkInvariants(w.view(), r.events, before), [], label);
    out.push(r);
  }
  return out;
}

const state = (w: World) => w.pw.dev.dsm.tdiState(FN);
type Tx = { kind: string; t?: boolean; verdict?: string; request?: string; domain?: string };
const dmaWrites = (r: StepResult) =>
  (r.events as Tx[]).filter(
    (e) => e.kind === 'transaction' && e.request === 'MemWr' && e.domain === 'device',
  );

describe('the role table', () => {
  const dev = (role: GuestRole) => ({ role }) as GuestDevice;
  const table: [GuestRole, RoleActor, string | undefined][] = [
    ['guest-kernel', 'kernel-tsm', undefined],
    ['guest-kernel', 'vfio-tsm', 'EPERM'],
    ['guest-kernel', 'kernel-driver', undefined],
    ['guest-kernel', 'vfio-pci', 'ENODEV'],
    ['vfio-attester', 'kernel-tsm', 'EPERM'],
    ['vfio-attester', 'vfio-tsm', undefined],
    ['vfio-attester', 'kernel-driver', 'ENODEV'],
    ['vfio-attester', 'vfio-pci', undefined],
    ['vfio-user', 'kernel-tsm', undefined],
    ['vfio-user', 'vfio-tsm', 'EPERM'],
    ['vfio-user', 'kernel-driver', 'ENODEV'],
    ['vfio-user', 'vfio-pci', undefined],
  ];
  for (const [role, who, errno] of table) {
    it(`${role}: ${who} ${errno ?? 'allowed'}`, () => {
      const r = roleRefusal(dev(role), who);
      assert.equal(r?.errno, errno);
      if (r) assert.match(r.detail, new RegExp(`role ${role}`));
    });
  }
  it("a device without a role is the guest kernel's", () => {
    assert.equal(roleRefusal({} as GuestDevice, 'kernel-tsm'), undefined);
    assert.equal(roleRefusal({} as GuestDevice, 'vfio-pci')?.errno, 'ENODEV');
  });
});

/** The userspace's path once the device runs: open, map, MMIO, DMA; the DMA step's result. */
async function userspace(w: World) {
  const [, , wr, rd, dma] = await run(w, [
    'guest.vfio/open',
    'guest.userspace/map',
    { do: 'guest.userspace/mmio-write', tdi: FN, args: { offset: 0x40, value: 0x11223344 } },
    { do: 'guest.userspace/mmio-read', tdi: FN, args: { offset: 0x40 } },
    { do: 'guest.userspace/dma', tdi: FN, args: { value: 0x7e } },
  ]);
  assert.ok(wr.ok);
  assert.deepEqual(
    [...(rd.value as Uint8Array)],
    [0x44, 0x33, 0x22, 0x11],
    'MMIO reached the register',
  );
  assert.deepEqual([...(dma.value as Uint8Array)], new Array(8).fill(0x7e), 'the bytes landed');
  const writes = dmaWrites(dma);
  assert.equal(writes.length, 1);
  assert.deepEqual([writes[0].t, writes[0].verdict], [true, 'SC'], 'T=1 DMA of a TDI in RUN');
  assert.equal(state(w), 'RUN');
}

for (const flavour of ['tdx', 'sev'] as const) {
  describe(`${flavour}: guest VFIO as TEE attester`, () => {
    it('vfio-pci locks, attests and accepts; the kernel may not; userspace gets RUN only', async () => {
      const w = await world(flavour, {}, 'vfio-attester');
      await run(w, ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign']);
      await run(w, [
        ['guest.tsm/lock', 'EPERM'],
        ['guest.attest', 'EPERM'],
        ['guest.driver/bind', 'ENODEV'],
        ['guest.vfio/lock', 'ENODEV'],
        'guest.vfio/bind',
        ['guest.vfio/bind', 'EBUSY'],
        ['guest.vfio/open', 'EPERM'],
        'guest.vfio/lock',
      ]);
      assert.equal(state(w), 'CONFIG_LOCKED');
      await run(w, [['guest.vfio/accept', 'EPERM'], 'guest.vfio/attest', 'guest.vfio/accept']);
      assert.equal(state(w), 'RUN');
      await userspace(w);
      await run(w, [
        ['guest.vfio/unlock', 'EBUSY'],
        ['guest.vfio/unbind', 'EBUSY'],
        'guest.vfio/close',
        'guest.vfio/unlock',
      ]);
      assert.equal(state(w), 'CONFIG_UNLOCKED');
      assert.equal(w.pw.p.tsm.tdis.get(w.rid(FN))?.vm, undefined, 'unbound in the firmware');
    });
  });
}

for (const flavour of ['tdx', 'cca'] as const) {
  describe(`${flavour}: guest VFIO and DPDK as TEE user`, () => {
    it('the guest kernel takes the device to RUN; vfio-pci only passes it on', async () => {
      const w = await world(flavour, {}, 'vfio-user');
      await run(w, ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.vfio/bind']);
      await run(w, [
        ['guest.vfio/lock', 'EPERM'],
        ['guest.tsm/lock', 'EBUSY'],
        ['guest.vfio/open', 'EPERM'],
        'guest.vfio/unbind',
        'guest.tsm/lock',
        'guest.attest',
        'guest.tsm/accept',
        ['guest.driver/bind', 'ENODEV'],
        'guest.vfio/bind',
        ['guest.vfio/accept', 'EPERM'],
      ]);
      await userspace(w);
      await run(w, ['guest.vfio/close', 'guest.vfio/unbind', 'guest.tsm/unlock']);
      assert.equal(state(w), 'CONFIG_UNLOCKED');
    });
  });
}

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`${flavour}: host VFIO as TEE helper`, () => {
    it('the host locks and no further; unbind leaves nothing of the TDI', async () => {
      const w = await world(flavour);
      await run(w, [
        'host.tsm/connect',
        'vmm.create-vm',
        'vmm.assign',
        'host.vfio-helper/tsm-bind',
      ]);
      const rid = w.rid(FN);
      assert.equal(state(w), 'CONFIG_LOCKED');
      assert.notEqual(w.pw.p.tsm.tdis.get(rid)?.vm, undefined);
      await run(w, ['host.vfio-helper/tsm-unbind', ['host.vfio-helper/tsm-unbind', 'ENXIO']]);
      assert.equal(state(w), 'CONFIG_UNLOCKED');
      assert.equal(w.pw.p.tsm.tdis.get(rid)?.vm, undefined, 'no firmware binding');
      assert.equal(w.pw.p.hw.iommu.secure.has(rid), false, 'no trusted DMA context');
      for (const sept of w.pw.p.hw.septs.values()) {
        for (const e of pfnValues(sept.entries)) {
          const live = e.target.kind === 'mmio' && e.target.rid === rid && e.state !== 'removed';
          assert.equal(live, false, 'no secure-EPT MMIO of the TDI');
        }
      }
      await run(w, ['guest.tsm/lock']);
      const [start] = await run(w, [
        flavour === 'tdx' ? ['host.vfio-helper/tsm-start', 'EINVAL'] : 'host.vfio-helper/tsm-start',
      ]);
      if (flavour === 'tdx') {
        assert.match(start.detail ?? '', /TDX_DEVIF_TDISP_INVALID_REQ_STS/);
        assert.equal(state(w), 'CONFIG_LOCKED');
        await run(w, ['guest.attest', 'guest.tsm/accept']);
      } else {
        assert.equal(state(w), 'RUN', `${flavour}: the firmware starts the TDI for the host`);
        const [attest] = await run(w, [
          ['guest.attest', 'EACCES'],
          ['guest.tsm/accept', 'EPERM'],
        ]);
        assert.match(attest.detail ?? '', /tdi-state/);
        await run(w, ['guest.tsm/unlock']);
        assert.equal(state(w), 'CONFIG_UNLOCKED');
      }
    });
  });
}

describe('switch bareMetal', () => {
  it("defaults to 'refuse'", () => {
    assert.equal(DEFAULT_HOST_SWITCHES.bareMetal, 'refuse');
  });
  for (const flavour of ['tdx', 'sev', 'cca'] as const) {
    it(`${flavour} 'refuse': the no-VM bind is -ENOENT and makes no firmware context`, async () => {
      const w = await world(flavour, { vms: [], switches: { bareMetal: 'refuse' } });
      await run(w, ['host.tsm/connect', 'host.dpdk/open']);
      const vms = [...w.pw.p.tsm.vms.keys()];
      const [lock] = await run(w, [['host.dpdk/lock', 'ENOENT']]);
      assert.match(lock.detail ?? '', /every TSM bind needs a VM/);
      assert.deepEqual([...w.pw.p.tsm.vms.keys()], vms, 'no context created');
      assert.equal(state(w), 'CONFIG_UNLOCKED');
      await run(w, [['host.dpdk/dma', 'EINVAL'], 'host.dpdk/close']);
    });

    it(`${flavour} 'host-context': a process with no VM takes the TDI to RUN and uses it`, async () => {
      const w = await world(flavour, { vms: [], switches: { bareMetal: 'host-context' } });
      await run(w, [
        'host.tsm/connect',
        'host.dpdk/open',
        ['host.dpdk/accept', 'EINVAL'],
        'host.dpdk/lock',
      ]);
      assert.equal(w.h.kvm.vms.size, 0, 'no KVM VM');
      const ctx = w.h.vfio.devices.values().next().value?.tsmBound?.hostContext;
      assert.match(ctx?.vm ?? '', /^host-ctx-/);
      assert.equal(state(w), 'CONFIG_LOCKED');
      await run(w, [['host.dpdk/accept', 'EPERM'], 'host.dpdk/attest', 'host.dpdk/accept']);
      assert.equal(state(w), 'RUN');
      const [read, dma] = await run(w, [
        'host.dpdk/mmio-read',
        { do: 'host.dpdk/dma', tdi: FN, args: { value: 0x42 } },
      ]);
      assert.ok(read.value instanceof Uint8Array);
      assert.deepEqual([...(dma.value as Uint8Array)], new Array(8).fill(0x42));
      assert.deepEqual(
        dmaWrites(dma).map((e) => [e.t, e.verdict]),
        [[true, 'SC']],
      );
      await run(w, ['host.dpdk/unlock']);
      assert.equal(state(w), 'CONFIG_UNLOCKED');
      assert.equal(w.pw.p.tsm.tdis.get(w.rid(FN))?.vm, undefined);
      assert.equal(
        [...w.pw.p.tsm.vms.keys()].some((v) => v.includes('host-ctx')),
        false,
        'context destroyed',
      );
      await run(w, ['host.dpdk/close', 'host.tsm/disconnect']);
    });
  }
});

describe('the new operations are safe moves in any state', () => {
  const OPS = { ...GUEST_VFIO_OPS, ...HOST_ROLE_OPS };
  const tryAll = async (w: World) => {
    let tried = 0;
    for (const [name, op] of Object.entries(OPS)) {
      const steps = op.candidates?.(w) ?? [];
      for (const s of steps) {
        assert.equal(s.do, name);
        const r = await w.perform(s);
        assert.equal(typeof r.ok, 'boolean');
        if (!r.ok)
          assert.match(
            r.errno ?? '',
            /^E[A-Z0-9]+$|^(all-ones|faulted|realm-killed)$/,
            `${name}: ${r.errno}`,
          );
        tried++;
      }
    }
    return tried;
  };
  it('with nothing set up, and with the device running under guest VFIO (tdx)', async () => {
    const bare = await world('tdx', {}, 'vfio-attester');
    assert.ok((await tryAll(bare)) > 0);
    const w = await world('tdx', {}, 'vfio-attester');
    await run(w, [
      'host.tsm/connect',
      'vmm.create-vm',
      'vmm.assign',
      'guest.vfio/bind',
      'guest.vfio/lock',
      'guest.vfio/attest',
      'guest.vfio/accept',
    ]);
    assert.ok((await tryAll(w)) > Object.keys(OPS).length);
  });
});

describe('switch bareMetal under both bind uAPIs', () => {
  it("tdx 'host-context' with VFIO_DEVICE_TSM_BIND (bindUapi 'vfio')", async () => {
    const switches = { bareMetal: 'host-context', bindUapi: 'vfio' } as const;
    const w = await world('tdx', { vms: [], switches });
    const [, , lock] = await run(w, ['host.tsm/connect', 'host.dpdk/open', 'host.dpdk/lock']);
    assert.ok((lock.events as { op?: string }[]).some((e) => e.op === 'VFIO_DEVICE_TSM_BIND'));
    await run(w, ['host.dpdk/attest', 'host.dpdk/accept', 'host.dpdk/dma', 'host.dpdk/unlock']);
    assert.equal(state(w), 'CONFIG_UNLOCKED');
  });
});

describe('the explorer sees the roles and the host processes', () => {
  it('a snapshot with a bare-metal process bound restores it (tdx)', async () => {
    const w = await world('tdx', { vms: [], switches: { bareMetal: 'host-context' } });
    await run(w, ['host.tsm/connect', 'host.dpdk/open', 'host.dpdk/lock', 'host.dpdk/attest']);
    const snap = w.snapshot();
    await run(w, ['host.dpdk/accept']);
    assert.equal(state(w), 'RUN');
    w.restore(snap);
    assert.equal(state(w), 'CONFIG_LOCKED');
    assert.equal(w.hostProcesses.get(FN)?.g.devices.get(w.rid(FN))?.tsm, 'locked');
    await run(w, ['host.dpdk/accept', 'host.dpdk/dma']);
    assert.equal(state(w), 'RUN');
  });

  for (const role of ['vfio-attester', 'vfio-user'] as const) {
    it(`the honest backbone of a ${role} device succeeds step by step (tdx)`, async () => {
      const w = await world('tdx', {}, role);
      const steps = defaultBackbone(w);
      assert.ok(steps.some((s) => s.do === 'guest.userspace/dma'));
      await run(w, steps);
      assert.equal(state(w), 'CONFIG_UNLOCKED');
    });
  }
});
