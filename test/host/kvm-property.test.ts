/**
 * Random sequences of KVM's ioctls, guest faults and dma-buf revocations: after every step
 * KVM's records agree with the shared EPT and the host's page allocator, a refusal changed
 * nothing, and every dma-buf slot's buffer is its VM's (invariant 2). With a TDX host driver
 * registered, one VM is a TD and the mirror is checked against the secure EPT as well.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DmaBuf } from '../../src/host/dma-buf/state.ts';
import { kvmSetMemoryAttributes } from '../../src/host/kvm/attributes.ts';
import { boundVmOf, kvmMoveNotify } from '../../src/host/kvm/dmabuf-slot.ts';
import { kvmFault } from '../../src/host/kvm/fault.ts';
import { kvmCreateGuestMemfd } from '../../src/host/kvm/guest-memfd.ts';
import { kvmSetUserMemoryRegion2 } from '../../src/host/kvm/memslot.ts';
import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_VFIO_DMABUF,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from '../../src/host/kvm/uapi.ts';
import { kvmCreateVm } from '../../src/host/kvm/vm.ts';
import type { HostOutcome } from '../../src/host/outcome.ts';
import { tsmDriver } from '../../src/host/tsm/index.ts';
import { pfnKey } from '../../src/platform/ids.ts';
import { pfnEntries, pfnKeys } from '../../src/platform/pfn-table.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import { assertKvmConsistent, dmaBuf, PAGE, recordBinding } from './kvm-support.ts';
import { type HostWorld, hostWorld, ok } from './world.ts';

const BASE = 0x10_0000n;

type Cmd =
  | { k: 'slot'; vm: number; slot: number; page: number; pages: number; kind: number }
  | { k: 'delete'; vm: number; slot: number }
  | { k: 'attrs'; vm: number; page: number; pages: number; private: boolean }
  /** mode 0 shared, 1 private, 2 as the frame's attribute says (a guest that converted first). */
  | { k: 'fault'; vm: number; page: number; mode: number }
  | { k: 'revoke'; buf: number }
  | { k: 'restore'; buf: number };

const vmIx = fc.integer({ min: 0, max: 1 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant('slot' as const),
      vm: vmIx,
      slot: fc.integer({ min: 0, max: 3 }),
      page: fc.integer({ min: 0, max: 15 }),
      pages: fc.integer({ min: 1, max: 4 }),
      kind: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('delete' as const),
      vm: vmIx,
      slot: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('attrs' as const),
      vm: vmIx,
      page: fc.integer({ min: 0, max: 15 }),
      pages: fc.integer({ min: 1, max: 4 }),
      private: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('fault' as const),
      vm: vmIx,
      page: fc.integer({ min: 0, max: 15 }),
      mode: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('revoke' as const),
      buf: fc.integer({ min: 0, max: 1 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('restore' as const),
      buf: fc.integer({ min: 0, max: 1 }),
    }),
    weight: 1,
  },
);

/** Two VMs (the second a TD when a driver exists), a guest_memfd for each TD, two dma-bufs. */
async function setup(): Promise<Setup> {
  const w = await hostWorld('tdx', { seed: 'kvm property' });
  const td = tsmDriver(w.m) !== undefined;
  const vms = [
    ok(await kvmCreateVm(w.m, w.h, { type: 'default' })),
    ok(await kvmCreateVm(w.m, w.h, { type: td ? 'confidential' : 'default' })),
  ];
  const gmem = td
    ? ok(kvmCreateGuestMemfd(w.m, w.h, { vmFd: vms[1], size: 64n * PAGE, flags: 0 }))
    : -1;
  // The TDI's BAR as a shared buffer and as a private one bound to the second VM.
  const bufs = [dmaBuf(w, { pages: 2 }), dmaBuf(w, { pages: 2, private: true })];
  recordBinding(w, w.h.kvm.vms.get(vms[1])?.vm ?? '');
  const s = { w, vms, gmem, bufs };
  // Slots to start from, so the random steps mostly reach faults and conversions: memory at
  // pages 0..7 of each VM (guest_memfd-backed on a TD), the shared buffer on the first VM
  // at pages 8..9, the private buffer on the second at pages 12..13 (slot % 2 picks it);
  // on a TD, pages 0..1 and 12..13 start private.
  const start: Cmd[] = [
    { k: 'slot', vm: 0, slot: 0, page: 0, pages: 4, kind: 0 },
    { k: 'slot', vm: 0, slot: 2, page: 8, pages: 2, kind: 3 },
    { k: 'slot', vm: 1, slot: 0, page: 0, pages: 4, kind: td ? 2 : 0 },
    { k: 'slot', vm: 1, slot: 1, page: 12, pages: 2, kind: 3 },
    ...(td
      ? [
          { k: 'attrs', vm: 1, page: 0, pages: 2, private: true } as const,
          { k: 'attrs', vm: 1, page: 12, pages: 2, private: true } as const,
        ]
      : []),
  ];
  for (const c of start) ok(await run(s, c));
  return s;
}

interface Setup {
  w: HostWorld;
  vms: number[];
  gmem: number;
  bufs: DmaBuf[];
}

async function run(s: Setup, c: Cmd): Promise<HostOutcome<unknown>> {
  const { w, vms, gmem, bufs } = s;
  switch (c.k) {
    case 'slot': {
      const kinds = [0, 0, KVM_MEM_GUEST_MEMFD, KVM_MEM_VFIO_DMABUF];
      const flags = kinds[c.kind];
      const buf = bufs[c.slot % 2];
      return kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd: vms[c.vm],
        slot: c.slot,
        flags,
        guestPhysAddr: BASE + BigInt(c.page) * PAGE,
        memorySize: flags === KVM_MEM_VFIO_DMABUF ? 2n * PAGE : BigInt(c.pages) * PAGE,
        guestMemfd: flags === KVM_MEM_VFIO_DMABUF ? buf.fd : gmem,
        guestMemfdOffset: flags === KVM_MEM_GUEST_MEMFD ? BigInt(c.page) * PAGE : 0n,
      });
    }
    case 'delete':
      return kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd: vms[c.vm],
        slot: c.slot,
        flags: 0,
        guestPhysAddr: 0n,
        memorySize: 0n,
      });
    case 'attrs':
      return kvmSetMemoryAttributes(w.m, w.h, {
        vmFd: vms[c.vm],
        address: BASE + BigInt(c.page) * PAGE,
        size: BigInt(c.pages) * PAGE,
        attributes: c.private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
        flags: 0,
      });
    case 'fault': {
      const gpa = BASE + BigInt(c.page) * PAGE;
      const attr = w.h.kvm.vms.get(vms[c.vm])?.privateGfns[pfnKey(gpa >> 12n)] !== undefined;
      return kvmFault(w.m, w.h, {
        vmFd: vms[c.vm],
        gpa,
        private: c.mode >= 2 ? attr : c.mode === 1,
      });
    }
    case 'revoke': {
      // The exporter's revocation: the buffer first, then move_notify to each importer.
      const buf = bufs[c.buf];
      buf.state = 'revoked';
      for (const i of buf.importers) {
        const r = await kvmMoveNotify(w.m, w.h, i);
        if (!r.ok) return r;
      }
      return { ok: true, value: undefined, events: [] };
    }
    case 'restore':
      bufs[c.buf].state = 'live';
      return { ok: true, value: undefined, events: [] };
  }
}

const records = (w: HostWorld) =>
  canonicalHash({
    h: w.h,
    tsm: w.p.tsm,
    vendor: w.p.vendor,
    septs: w.p.hw.septs,
    shared: w.p.hw.sharedEpts,
  });

function checkInvariants(s: Setup, why: string): void {
  const { w } = s;
  assertKvmConsistent(w);
  for (const vm of w.h.kvm.vms.values()) {
    const sept = w.p.hw.septs.get(vm.vm);
    for (const [gfn, e] of pfnEntries(vm.mirror)) {
      const real = sept?.entries[Number(gfn)]?.target;
      const want =
        e.kind === 'memory'
          ? { kind: 'memory', hpfn: e.hpfn }
          : { kind: 'mmio', hpfn: e.pfn, rid: e.rid };
      assert.deepEqual(real, want, `${why}: mirror gfn ${gfn} vs the secure EPT`);
    }
    for (const gfn of pfnKeys(sept?.entries ?? {})) {
      assert.ok(
        vm.mirror[pfnKey(BigInt(gfn))] !== undefined,
        `${why}: secure EPT gfn ${gfn} missing from the mirror`,
      );
    }
    for (const slot of vm.memslots.values()) {
      if (slot.dmaBuf === undefined) continue;
      const buf = w.h.dmaBufs.bufs.get(slot.dmaBuf);
      assert.ok(buf, `${why}: slot ${slot.slot} has no buffer`);
      assert.ok(
        !buf.private || boundVmOf(w.h, buf.rid) === vm.vm,
        `${why}: a private buffer of another VM`,
      );
      assert.ok(
        buf.importers.some((i) => i.kind === 'kvm' && i.vmFd === vm.fd && i.slot === slot.slot),
        `${why}: slot ${slot.slot} not among the importers`,
      );
      if (buf.state !== 'live') {
        for (let g = slot.baseGfn; g < slot.baseGfn + BigInt(slot.pages); g++) {
          assert.ok(
            !(vm.sharedMapped[pfnKey(g)] !== undefined) && !(vm.mirror[pfnKey(g)] !== undefined),
            `${why}: revoked buffer mapped`,
          );
        }
      }
    }
  }
}

describe('KVM: random ioctl, fault and revocation sequences', () => {
  it('keep KVM, the EPTs and the allocator consistent, and refusals change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 10, maxLength: 60 }), async (cmds) => {
        const s = await setup();
        for (const [i, c] of cmds.entries()) {
          const before = records(s.w);
          const o = await run(s, c);
          const why = `step ${i} ${JSON.stringify(c)} -> ${o.ok ? 'ok' : o.errno}`;
          if (!o.ok) assert.equal(records(s.w), before, `${why}: a refusal changed records`);
          checkInvariants(s, why);
        }
      }),
      { numRuns: 15, seed: 0x4b564d },
    );
  });
});
