/**
 * SYSTEM.md section 6 question 11 as the switch `msixTable` (platform/switches.ts): for every
 * flavour and both positions, and with the switch absent (the flavour's own answer), the LOCK
 * flags the device receives, the report's MSI-X ranges, what the guest accepts and maps, and
 * what the host's writes to the table come to; SEV's TIO_TDI_BIND against host flags that
 * disagree; the seeded flaw device-msix-change-not-caught where the table is locked; and a
 * page named by RANGE_ID when one ID has several ranges (a TEE range after the MSI-X table).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nvme } from '../../src/device/profiles/index.ts';
import { PAGE_SHIFT, pfnKey } from '../../src/platform/ids.ts';
import { tioTdiBind } from '../../src/platform/sev/host-abi.ts';
import { type MsixTable, msixTableOf } from '../../src/platform/switches.ts';
import { rangeIdPage } from '../../src/platform/tsm/private-mmio.ts';
import type { ReportedRange, TsmTdi } from '../../src/platform/tsm/state.ts';
import {
  PCI_TDISP_LOCK_INTERFACE_FLAGS_SYSTEM_CACHE_LINE_SIZE as CLS,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX as LOCK_MSIX,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE as NO_FW_UPDATE,
} from '../../src/wire/tdisp/constants.ts';
import { decodeInterfaceReport } from '../../src/wire/tdisp/report.ts';
import { checkInvariants } from '../../src/world/invariants.ts';
import { World, type WorldStep } from '../../src/world/world.ts';
import { connected, guest } from './sev/flow.ts';
import { GCTX, GUEST_BDF, refused, sevWorld } from './sev/world.ts';

const FLAVOURS = ['tdx', 'sev', 'cca'] as const;
type Flavour = (typeof FLAVOURS)[number];
const OWN: Record<Flavour, MsixTable> = { tdx: 'shared', sev: 'private', cca: 'private' };
/** The NIC's VF 1: MSI-X table at BAR0 + 0xe000, PBA at BAR0 + 0xf000. */
const TABLE = 0xe000;

async function world(flavour: Flavour, msixTable?: MsixTable, flaws: string[] = []) {
  return World.create({
    flavour,
    seed: `msix ${flavour} ${msixTable ?? 'absent'}`,
    switches: msixTable ? { msixTable } : {},
    flaws,
  });
}

/** One step, with the invariants it broke. */
async function step(w: World, s: WorldStep) {
  const before = w.frozenView();
  const r = await w.perform(s);
  const violations = checkInvariants(w.view(), r.events, before).map((v) => v.invariant);
  return { ...r, violations, tdi: w.tdiState(s) };
}

/** Steps that must each succeed and break nothing. */
async function fine(w: World, ...dos: string[]) {
  for (const d of dos) {
    const r = await step(w, { do: d });
    assert.equal(r.ok, true, `${d}: ${r.errno} ${r.detail}`);
    assert.deepEqual(r.violations, [], d);
  }
}

function tdiOf(w: World) {
  const t = w.pw.dev.tdis()[0];
  const bar = w.m.barAddress(t.requesterId, 0);
  assert.ok(bar, 'BAR0 assigned');
  return { fn: t.fn, rid: t.requesterId, bar0: bar.base };
}

describe('question 11: the switch msixTable', () => {
  it("absent, each flavour keeps its own answer; set, it is the switch's", () => {
    for (const f of FLAVOURS) {
      assert.equal(msixTableOf({}, f), OWN[f], f);
      for (const p of ['shared', 'private'] as const)
        assert.equal(msixTableOf({ msixTable: p }, f), p);
    }
  });

  for (const flavour of FLAVOURS) {
    for (const position of [undefined, 'shared', 'private'] as const) {
      const is = position ?? OWN[flavour];
      const name = position ? `msixTable ${position}` : `msixTable absent (${is})`;
      it(`${flavour}, ${name}: lock flags, report, guest mapping and the host's writes`, async () => {
        const w = await world(flavour, position);
        const { fn, rid, bar0 } = tdiOf(w);
        const tablePfn = (bar0 + BigInt(TABLE)) >> PAGE_SHIFT;
        await fine(w, 'host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock');

        // The LOCK the device received.
        const t = w.pw.dev.dsm.state.tdis[fn];
        assert.ok(t && t.state === 'CONFIG_LOCKED');
        assert.equal(t.lock.flags & LOCK_MSIX, is === 'private' ? LOCK_MSIX : 0);
        assert.equal(t.lock.msixLocked, is === 'private');

        await fine(w, 'guest.attest');
        // The report's MSI-X ranges (TDX and CCA fetch it for the guest's attest): flagged when
        // locked, left out (holes) when not.
        const bytes = w.pw.p.tsm.tdis.get(rid)?.report?.bytes;
        assert.ok(bytes, 'the TSM has the report');
        const ranges = decodeInterfaceReport(bytes).mmioRanges;
        const table = ranges.filter((r) => r.attributes.msixTable);
        const pba = ranges.filter((r) => r.attributes.msixPba);
        assert.equal(table.length, is === 'private' ? 1 : 0);
        assert.equal(pba.length, is === 'private' ? 1 : 0);
        assert.ok(ranges.every((r) => r.rangeId === 0 && !r.attributes.nonTee));

        // The guest accepts what the report makes private: the table's page is in its secure
        // EPT only when the table is private, and its driver reaches it only then.
        const g = w.vms.get('vm1')?.guest;
        const dev = g && [...g.devices.values()][0];
        assert.ok(dev?.attested);
        // What the guest shows of the lock comes from the report: LOCK_MSIX iff locked.
        assert.equal(dev.attested.evidence.lockFlags & LOCK_MSIX, is === 'private' ? LOCK_MSIX : 0);
        const accepted = dev.attested.ranges.reduce((n, r) => n + r.pages, 0);
        await fine(w, 'guest.tsm/accept', 'guest.driver/bind');
        assert.equal(w.tdiState({ do: 'guest.tsm/accept' }), 'RUN');
        const mapped = w.pw.p.tsm.mmioPages[pfnKey(tablePfn)];
        assert.equal(mapped !== undefined, is === 'private', 'the table page mapped private');
        assert.equal(w.pw.p.tsm.tdis.get(rid)?.mmio.size, accepted, 'every accepted page mapped');
        if (is === 'private') {
          const wr = await step(w, {
            do: 'guest.mmio-write',
            args: { offset: TABLE + 12, value: 0 },
          });
          assert.equal(wr.ok, true, `${wr.errno} ${wr.detail}`);
          assert.deepEqual(wr.violations, []);
          assert.equal(wr.tdi, 'RUN', 'the guest programming its own table is no ERROR trigger');
          const rd = await step(w, { do: 'guest.mmio-read', args: { offset: TABLE + 12 } });
          assert.equal(rd.ok, true, `${rd.errno} ${rd.detail}`);
        }

        // The host's write into the table in RUN: dropped when private, done when shared.
        const hostWrite = {
          do: 'host.pci/msix-write',
          args: { entry: 0, field: 'ctrl', value: 0 },
        };
        const run = await step(w, hostWrite);
        assert.deepEqual(run.violations, []);
        assert.equal(run.tdi, 'RUN');
        if (is === 'private') assert.equal(run.errno, 'EIO');
        else assert.equal(run.ok, true, `${run.errno} ${run.detail}`);

        // Locked again, before the guest accepts: the write lands, an ERROR trigger when the
        // table is locked, nothing when it is the host's.
        await fine(w, 'guest.driver/unbind', 'guest.tsm/unlock', 'guest.tsm/lock');
        const locked = await step(w, hostWrite);
        assert.equal(locked.ok, true, `${locked.errno} ${locked.detail}`);
        assert.deepEqual(locked.violations, []);
        assert.equal(locked.tdi, is === 'private' ? 'ERROR' : 'CONFIG_LOCKED');
        await fine(w, 'guest.tsm/unlock', 'vmm.release', 'vmm.destroy-vm', 'host.tsm/disconnect');
      });
    }
  }

  for (const flavour of FLAVOURS) {
    it(`${flavour}: device-msix-change-not-caught breaks I5 where the table is private, not where it is shared`, async () => {
      for (const is of ['private', 'shared'] as const) {
        const w = await world(flavour, is, ['device-msix-change-not-caught']);
        await fine(w, 'host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock');
        const r = await step(w, {
          do: 'host.pci/msix-write',
          args: { entry: 0, field: 'ctrl', value: 0 },
        });
        assert.equal(r.tdi, 'CONFIG_LOCKED');
        assert.deepEqual(r.violations, is === 'private' ? ['I5'] : [], is);
      }
    });
  }
});

describe('SEV-TIO TIO_TDI_BIND and the switch', () => {
  for (const is of ['shared', 'private'] as const) {
    it(`${is}: host flags that disagree on LOCK_MSIX are SEV_RET_INVALID_PARAM; absent, the platform's`, async () => {
      const w = await sevWorld(`bind flags ${is}`);
      w.p.switches.msixTable = is;
      guest(w);
      await connected(w);
      const { p, env, fn0, rid, carrier } = w;
      const a = { dev: fn0, tdi: rid, gctx: GCTX, guestDeviceId: GUEST_BDF };
      const wrong = NO_FW_UPDATE | CLS | (is === 'private' ? 0 : LOCK_MSIX);
      await refused(p, 'SEV_RET_INVALID_PARAM', () =>
        tioTdiBind(p, env, { ...a, lockFlags: wrong }, carrier),
      );
      const r = await tioTdiBind(p, env, a, carrier);
      assert.equal(r.ok, true, r.detail);
      const flags = p.vendor.tdis.get(rid)?.lockFlags ?? 0;
      assert.equal(flags, NO_FW_UPDATE | CLS | (is === 'private' ? LOCK_MSIX : 0));
      assert.equal(w.dev.dsm.state.tdis[w.tdi.fn]?.state, 'CONFIG_LOCKED');
    });
  }
});

describe('a page named by RANGE_ID', () => {
  const range = (base: bigint, pages: number, msix = false): ReportedRange => ({
    rangeId: 0,
    base,
    pages,
    msixTable: msix,
    msixPba: false,
    nonTee: false,
  });
  const tdi = (ranges: ReportedRange[]) =>
    ({ report: { bytes: new Uint8Array(), ranges } }) as unknown as TsmTdi;

  it("counts from the ID's lowest page, across its ranges and the holes between", () => {
    const B = 0x8000_0000n;
    const t = tdi([range(B, 2), range(B + 0x4000n, 4)]);
    assert.equal(rangeIdPage(t, 0, 0), B >> PAGE_SHIFT);
    assert.equal(rangeIdPage(t, 0, 1), (B >> PAGE_SHIFT) + 1n);
    assert.equal(rangeIdPage(t, 0, 2), undefined, 'a hole (an MSI-X table left shared)');
    assert.equal(rangeIdPage(t, 0, 4), (B >> PAGE_SHIFT) + 4n, 'the TEE range after the hole');
    assert.equal(rangeIdPage(t, 0, 8), undefined);
    assert.equal(rangeIdPage(t, 1, 0), undefined, 'no such ID');
    const locked = tdi([range(B, 2), range(B + 0x2000n, 1, true), range(B + 0x4000n, 4)]);
    assert.equal(rangeIdPage(locked, 0, 2), (B >> PAGE_SHIFT) + 2n, 'a locked MSI-X table');
  });

  // A PF whose BAR0 has a TEE range after its MSI-X table and PBA: the guest accepts both TEE
  // ranges of RANGE_ID 0 (a lookup of the first range with the ID could not name the second).
  const pf = {
    ...nvme,
    name: 'nvme-32k',
    functions: [{ ...nvme.functions[0], bars: [{ index: 0, size: 32n * 1024n, is64: true }] }],
  };
  for (const flavour of FLAVOURS) {
    for (const is of ['shared', 'private'] as const) {
      it(`${flavour}, msixTable ${is}: every TEE range of one RANGE_ID accepted and mapped`, async () => {
        const w = await World.create({
          flavour,
          seed: `range id ${flavour} ${is}`,
          profile: pf,
          switches: { msixTable: is },
        });
        const { rid } = tdiOf(w);
        await fine(w, 'host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock');
        await fine(w, 'guest.attest', 'guest.tsm/accept');
        const ranges = w.pw.p.tsm.tdis.get(rid)?.report?.ranges ?? [];
        assert.equal(ranges.length, is === 'private' ? 4 : 2);
        assert.ok(ranges.every((r) => r.rangeId === 0));
        // 8 pages: registers 0-1, table 2, PBA 3, registers 4-7.
        assert.equal(w.pw.p.tsm.tdis.get(rid)?.mmio.size, is === 'private' ? 8 : 6);
        assert.equal(w.tdiState({ do: 'guest.tsm/accept' }), 'RUN');
        const last = await step(w, { do: 'guest.driver/bind' });
        assert.equal(last.ok, true);
        const rd = await step(w, { do: 'guest.mmio-read', args: { offset: 0x7000 } });
        assert.equal(rd.ok, true, `${rd.errno} ${rd.detail}`);
      });
    }
  }
});
