/**
 * Switch bindTime (SYSTEM.md section 6 question 4, host/switches.ts), per flavour in both
 * positions: when the TSM bind happens (in the guest's lock step, or in the VMM's assignment
 * after the BAR memslots), the TDI state the guest's firmware shows it at boot, the answer to
 * the guest's lock request, attestation, accept and RUN still the guest's (its evidence bound
 * to a nonce it chose after the bind), unbind then re-bind, the -ENXIO path that ends a stale
 * early bind, and the default.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contextOf, devsecDevice } from '../../src/guest/tsm/core.ts';
import { hexOf } from '../../src/guest/tsm/flavour.ts';
import type { UapiEvent } from '../../src/host/outcome.ts';
import { DEFAULT_HOST_SWITCHES } from '../../src/host/switches.ts';
import type { StepEvent } from '../../src/world/invariants.ts';
import { World } from '../../src/world/world.ts';

type Flavour = 'tdx' | 'sev' | 'cca';
type BindTime = 'late' | 'early';
const FLAVOURS: readonly Flavour[] = ['tdx', 'sev', 'cca'];
const VDEV = 0x10;

/**
 * The firmware calls of each flavour's TSM bind (host/tsm/{tdx,sev,cca}), in order; a call
 * that runs in rounds over the DSM's mailbox (TIO_TDI_BIND) is named once.
 */
const BIND_CALLS: Record<Flavour, string[]> = {
  tdx: ['TDH.DEVIF.CREATE', 'TDH.DEVIF.REQUEST', 'TDH.DEVIF.RESPONSE'],
  sev: ['TIO_TDI_CREATE', 'TIO_TDI_BIND'],
  cca: ['RMI_VDEV_CREATE', 'RMI_VDEV_LOCK'],
};

const uapi = (events: readonly StepEvent[]) =>
  events.flatMap((e) => (e.kind === 'uapi' ? [e as unknown as UapiEvent] : []));
const uapiOps = (events: readonly StepEvent[]) => uapi(events).map((e) => e.op);
const firmware = (events: readonly StepEvent[], flavour: Flavour) =>
  events
    .flatMap((e) =>
      e.kind === 'abi' && BIND_CALLS[flavour].includes(String(e.call)) ? [String(e.call)] : [],
    )
    .filter((call, i, all) => call !== all[i - 1]);
const locks = (events: readonly StepEvent[]) =>
  events.filter(
    (e) => e.kind === 'TDI_STATE' && e.from === 'CONFIG_UNLOCKED' && e.to === 'CONFIG_LOCKED',
  ).length;

async function world(flavour: Flavour, bindTime: BindTime, seed: string) {
  return World.create({ flavour, seed: `bind-time ${seed}`, switches: { bindTime } });
}

async function must(w: World, step: string, args?: Record<string, number>) {
  const r = await w.perform({ do: step, args });
  assert.equal(r.ok, true, `${step}: ${r.errno} ${r.detail}`);
  return r;
}

/** Connected, the VM created and the TDI assigned: the moment the guest boots with its device. */
async function booted(flavour: Flavour, bindTime: BindTime, seed: string) {
  const w = await world(flavour, bindTime, seed);
  await must(w, 'host.tsm/connect');
  await must(w, 'vmm.create-vm');
  const assign = await must(w, 'vmm.assign');
  return { w, assign };
}

/** The guest's view: its machine and records, and its devsec TSM's context for the device. */
function guest(w: World) {
  const v = w.vms.get('vm1');
  assert.ok(v?.gm && v.guest);
  const d = devsecDevice(v.gm, v.guest, VDEV);
  assert.ok(d.ok);
  return { ...d.value, ctx: contextOf(v.gm, v.guest, d.value.dev) };
}

const vmmDevice = (w: World) => [...w.s.vms.values()][0]?.devices.get(VDEV);

for (const flavour of FLAVOURS) {
  describe(`bindTime on ${flavour}`, () => {
    it('late: the bind is the guest lock step, through the uAPI of switch bindUapi', async () => {
      const { w, assign } = await booted(flavour, 'late', 'late');
      assert.ok(!uapiOps(assign.events).includes('IOMMU_VDEVICE_TSM_OP'));
      assert.deepEqual(firmware(assign.events, flavour), []);
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_UNLOCKED');
      const lock = await must(w, 'guest.tsm/lock');
      const ops = uapiOps(lock.events);
      assert.ok(ops.indexOf('IOMMU_VDEVICE_TSM_OP') < ops.indexOf('KVM_EXIT_HYPERCALL'));
      assert.deepEqual(firmware(lock.events, flavour), BIND_CALLS[flavour]);
      assert.equal(locks(lock.events), 1);
      const exit = uapi(lock.events).find((e) => e.op === 'KVM_EXIT_HYPERCALL');
      assert.equal(exit?.args.bound, undefined);
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
    });

    it('early: the bind is the last step of the assignment, after the BAR memslots', async () => {
      const { w, assign } = await booted(flavour, 'early', 'early');
      const ops = uapiOps(assign.events);
      const bind = ops.indexOf('IOMMU_VDEVICE_TSM_OP');
      assert.ok(bind > ops.lastIndexOf('KVM_SET_USER_MEMORY_REGION2'), ops.join(' '));
      assert.ok(bind < ops.indexOf('vfio_realize'));
      assert.equal(uapi(assign.events).at(-1)?.op, 'vfio_realize');
      assert.equal(uapi(assign.events).at(-1)?.args.bound, 'early');
      assert.deepEqual(firmware(assign.events, flavour), BIND_CALLS[flavour]);
      assert.equal(locks(assign.events), 1);
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
      assert.equal(vmmDevice(w)?.boundEarly, true);
    });

    for (const bindTime of ['late', 'early'] as const) {
      it(`${bindTime}: what the guest's firmware shows it of its TDI at boot`, async () => {
        const { w } = await booted(flavour, bindTime, `boot ${bindTime}`);
        const x = guest(w);
        // The guest's own record is the same either way: it has asked for nothing yet.
        assert.equal(x.dev.tsm, 'unlocked');
        const s = await x.flavour.state(x.ctx);
        if (bindTime === 'early') assert.deepEqual(s, { ok: true, value: 'CONFIG_LOCKED' });
        else assert.equal(s.ok, false, 'no DEVIF, TDI or VDEV of this VM yet');
      });
    }

    it("early: the guest's lock is answered from the VMM's record, with no second bind", async () => {
      const { w } = await booted(flavour, 'early', 'answer');
      const lock = await must(w, 'guest.tsm/lock');
      const exit = uapi(lock.events).find((e) => e.op === 'KVM_EXIT_HYPERCALL');
      assert.equal(exit?.ok, true);
      assert.equal(exit?.args.bound, 'early');
      assert.ok(!uapiOps(lock.events).includes('IOMMU_VDEVICE_TSM_OP'));
      assert.deepEqual(firmware(lock.events, flavour), []);
      assert.equal(locks(lock.events), 0);
      assert.equal(guest(w).dev.tsm, 'locked');
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
    });

    for (const bindTime of ['late', 'early'] as const) {
      it(`${bindTime}: attestation, accept and RUN stay the guest's, its evidence fresh`, async () => {
        const { w } = await booted(flavour, bindTime, `run ${bindTime}`);
        await must(w, 'guest.tsm/lock');
        // Accept before verified evidence is refused under either answer.
        assert.equal((await w.perform({ do: 'guest.tsm/accept' })).errno, 'EPERM');
        await must(w, 'guest.attest');
        const first = guest(w).dev.attested;
        assert.ok(first);
        // The evidence is bound to a nonce the guest chose after the bind, not to the bind.
        assert.equal(hexOf(first.evidence.nonce), first.nonce);
        await must(w, 'guest.attest');
        const second = guest(w).dev.attested;
        assert.ok(second && second.nonce !== first.nonce);
        assert.equal(hexOf(second.evidence.nonce), second.nonce);
        assert.deepEqual(guest(w).dev.nonces.used, [first.nonce, second.nonce]);
        await must(w, 'guest.tsm/accept');
        assert.equal(w.tdiState({ do: '' }), 'RUN');
        await must(w, 'guest.driver/bind');
        const o = await w.perform({ do: 'guest.mmio-write', args: { offset: 0 } });
        assert.equal(o.ok, true, `${o.errno} ${o.detail}`);
      });
    }

    it('early: unlock ends the early bind, and the next lock is a bind of the guest', async () => {
      const { w } = await booted(flavour, 'early', 'rebind');
      await must(w, 'guest.tsm/lock');
      await must(w, 'guest.attest');
      await must(w, 'guest.tsm/accept');
      await must(w, 'guest.tsm/unlock');
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_UNLOCKED');
      assert.equal(vmmDevice(w)?.boundEarly, false);
      assert.equal(vmmDevice(w)?.tsmBound, false);
      const lock = await must(w, 'guest.tsm/lock');
      assert.deepEqual(firmware(lock.events, flavour), BIND_CALLS[flavour]);
      assert.equal(
        uapi(lock.events).find((e) => e.op === 'KVM_EXIT_HYPERCALL')?.args.bound,
        undefined,
      );
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
      await must(w, 'guest.attest');
      // On CCA the Realm gave the destroyed device memory up at its unlock, so the same IPAs
      // map and validate again.
      await must(w, 'guest.tsm/accept');
      assert.equal(w.tdiState({ do: '' }), 'RUN');
      await must(w, 'guest.tsm/unlock');
      await must(w, 'vmm.release');
      await must(w, 'vmm.destroy-vm');
    });

    it('early: a reset that unbinds under the VMM leaves a stale record the -ENXIO clears', async () => {
      const { w } = await booted(flavour, 'early', 'enxio');
      const fd = vmmDevice(w)?.vfioFd;
      assert.ok(fd !== undefined);
      // resetWhileBound 'unbind' (the default): the kernel unbinds before the reset.
      await must(w, 'host.vfio/reset', { fd });
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_UNLOCKED');
      assert.equal(vmmDevice(w)?.boundEarly, true, 'the VMM does not learn of it');
      // The VMM's answer says locked; the guest's evidence says otherwise.
      await must(w, 'guest.tsm/lock');
      assert.equal((await w.perform({ do: 'guest.attest' })).ok, false);
      assert.equal((await w.perform({ do: 'guest.tsm/accept' })).errno, 'EPERM');
      const unlock = await must(w, 'guest.tsm/unlock');
      const exit = uapi(unlock.events).find((e) => e.op === 'KVM_EXIT_HYPERCALL');
      assert.equal(exit?.errno, 'ENXIO');
      assert.equal(vmmDevice(w)?.boundEarly, false);
      assert.equal(vmmDevice(w)?.tsmBound, false, 'nothing of the bind is left to release');
      const lock = await must(w, 'guest.tsm/lock');
      assert.deepEqual(firmware(lock.events, flavour), BIND_CALLS[flavour]);
      await must(w, 'guest.attest');
      await must(w, 'guest.tsm/accept');
      assert.equal(w.tdiState({ do: '' }), 'RUN');
    });

    it('early: an assignment before tsm/connect is refused, the VMM keeping nothing open', async () => {
      const w = await world(flavour, 'early', 'unconnected');
      await must(w, 'vmm.create-vm');
      const r = await w.perform({ do: 'vmm.assign' });
      assert.equal(r.ok, false);
      assert.equal(r.errno, 'ENXIO');
      assert.equal(vmmDevice(w), undefined);
      assert.equal(w.h.vfio.devices.size, 0);
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_UNLOCKED');
    });
  });
}

describe('bindTime default', () => {
  it("is 'late' (the VMM binds when the guest asks)", async () => {
    assert.equal(DEFAULT_HOST_SWITCHES.bindTime, 'late');
    const w = await World.create({ flavour: 'tdx', seed: 'bind-time default' });
    assert.equal(w.h.switches.bindTime, 'late');
    await must(w, 'host.tsm/connect');
    await must(w, 'vmm.create-vm');
    await must(w, 'vmm.assign');
    assert.equal(w.tdiState({ do: '' }), 'CONFIG_UNLOCKED');
    assert.equal(vmmDevice(w)?.boundEarly, false);
  });
});
