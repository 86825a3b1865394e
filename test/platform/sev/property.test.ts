/**
 * Random sequences of SEV-TIO host and guest ABI calls against teeio's device: whatever
 * the order, a refused call changes no record, and the records stay consistent: a TDI is
 * bound to a guest in the core exactly when its TDI context names that guest's context;
 * RUN only when bound; an unbound TDI keeps nothing private (nonce, report, sDTE,
 * validated MMIO, MMIO mappings, DMA context); a guest BDF names one TDI per guest; a
 * fence belongs to a live guest's ASID; a page has one owner; the secure EPT maps MMIO
 * only of a TDI bound to that VM and only inside a TEE range of its report.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AbiOutcome } from '../../../src/platform/abi.ts';
import { ownerOf } from '../../../src/platform/memory.ts';
import { pfnEntries } from '../../../src/platform/pfn-table.ts';
import {
  pvalidate,
  tioMsgMmioValidateReq,
  tioMsgSdteWriteReq,
  tioMsgTdiInfoReq,
} from '../../../src/platform/sev/guest-abi.ts';
import {
  rmpUpdate,
  snpActivate,
  snpDecommission,
  snpGctxCreate,
  snpLaunchFinish,
  tioAsidFenceClear,
  tioDevConnect,
  tioDevCreate,
  tioDevDisconnect,
  tioDevReclaim,
  tioTdiBind,
  tioTdiCreate,
  tioTdiReclaim,
  tioTdiStatus,
  tioTdiUnbind,
} from '../../../src/platform/sev/host-abi.ts';
import type { SevPlatform } from '../../../src/platform/sev/state.ts';
import { DEFAULT_MEMORY } from '../../../src/platform/state.ts';
import { inTeeRange } from '../../../src/platform/tsm/private-mmio.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { type SevWorld, sevWorld } from './world.ts';

const GUESTS = [0x10_0000, 0x20_0000];
const BDFS = [0x18, 0x20];

type Step =
  | { op: 'gctx' | 'activate' | 'finish' | 'decommission' | 'fenceClear'; g: number }
  | { op: 'devCreate' | 'devConnect' | 'devReclaim' | 'tdiCreate' | 'tdiStatus' | 'tdiReclaim' }
  | { op: 'devDisconnect'; force: boolean }
  | { op: 'bind'; g: number; bdf: number }
  | { op: 'run'; g: number; bdf: number }
  | { op: 'unbind'; g: number; force: boolean }
  | { op: 'sdte'; g: number; bdf: number; v: boolean }
  | { op: 'info'; g: number; bdf: number }
  | { op: 'assignMmio'; g: number; bar: number; page: number }
  | { op: 'assignRam'; g: number; page: number }
  | { op: 'unassignMmio'; bar: number; page: number }
  | { op: 'unassignRam'; page: number }
  | { op: 'validate'; g: number; bdf: number; bar: number; pages: number; v: boolean }
  | { op: 'pvalidate'; g: number; page: number; v: boolean };

const g = fc.integer({ min: 0, max: GUESTS.length - 1 });
const bdf = fc.integer({ min: 0, max: BDFS.length - 1 });
const bar = fc.integer({ min: 0, max: 2 });
const page = fc.integer({ min: 0, max: 3 });
const RAM = DEFAULT_MEMORY[0].base;
/** Guest physical addresses: MMIO pages at 0x8000_0000 + bar * 1 MiB, RAM at 1 MiB. */
const gpaMmio = (b: number, i: number) => 0x8000_0000n + (BigInt(b) << 20n) + BigInt(i) * 4096n;
const gpaRam = (i: number) => 0x10_0000n + BigInt(i) * 4096n;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom('gctx', 'activate', 'finish', 'decommission', 'fenceClear'), g }),
  fc.record({
    op: fc.constantFrom(
      'devCreate',
      'devConnect',
      'devReclaim',
      'tdiCreate',
      'tdiStatus',
      'tdiReclaim',
    ),
  }),
  fc.record({ op: fc.constant('devDisconnect'), force: fc.boolean() }),
  fc.record({ op: fc.constantFrom('bind', 'run', 'info'), g, bdf }),
  fc.record({ op: fc.constant('unbind'), g, force: fc.boolean() }),
  fc.record({ op: fc.constant('sdte'), g, bdf, v: fc.boolean() }),
  fc.record({ op: fc.constant('assignMmio'), g, bar, page }),
  fc.record({ op: fc.constant('assignRam'), g, page }),
  fc.record({ op: fc.constant('unassignMmio'), bar, page }),
  fc.record({ op: fc.constant('unassignRam'), page }),
  fc.record({
    op: fc.constant('validate'),
    g,
    bdf,
    bar,
    pages: fc.integer({ min: 1, max: 3 }),
    v: fc.boolean(),
  }),
  fc.record({ op: fc.constant('pvalidate'), g, page, v: fc.boolean() }),
) as fc.Arbitrary<Step>;

/** A bias towards the lifecycle's order, so runs get far: the path to RUN, then noise. */
const PATH: Step[] = [
  { op: 'gctx', g: 0 },
  { op: 'activate', g: 0 },
  { op: 'finish', g: 0 },
  { op: 'devCreate' },
  { op: 'devConnect' },
  { op: 'tdiCreate' },
  { op: 'bind', g: 0, bdf: 0 },
  { op: 'assignMmio', g: 0, bar: 0, page: 0 },
  { op: 'validate', g: 0, bdf: 0, bar: 0, pages: 1, v: true },
  { op: 'run', g: 0, bdf: 0 },
];

async function apply(w: SevWorld, s: Step): Promise<AbiOutcome<unknown>> {
  const { p, env, fn0: dev, rid: tdi, carrier } = w;
  const gctx = 'g' in s ? GUESTS[s.g] : 0;
  const guestDeviceId = 'bdf' in s ? BDFS[s.bdf] : 0;
  switch (s.op) {
    case 'gctx':
      return snpGctxCreate(p, env, { gctx });
    case 'activate':
      return snpActivate(p, env, { gctx, asid: s.g + 1 });
    case 'finish':
      return snpLaunchFinish(p, env, { gctx });
    case 'decommission':
      return snpDecommission(p, env, { gctx });
    case 'fenceClear':
      return tioAsidFenceClear(p, env, { dev, gctx });
    case 'devCreate':
      return tioDevCreate(p, env, { deviceId: dev, rootPortId: 0, segmentId: 0 });
    case 'devConnect':
      return tioDevConnect(p, env, { dev, tcMask: 1, ideStreamIds: [0] }, carrier);
    case 'devDisconnect':
      return tioDevDisconnect(p, env, { dev, force: s.force }, carrier);
    case 'devReclaim':
      return tioDevReclaim(p, env, { dev });
    case 'tdiCreate':
      return tioTdiCreate(p, env, { dev, tdi });
    case 'tdiStatus':
      return tioTdiStatus(p, env, { dev, tdi }, carrier);
    case 'tdiReclaim':
      return tioTdiReclaim(p, env, { dev, tdi });
    case 'bind':
      return tioTdiBind(p, env, { dev, tdi, gctx, guestDeviceId }, carrier);
    case 'run':
      return tioTdiBind(p, env, { dev, tdi, gctx, guestDeviceId, run: true }, carrier);
    case 'unbind':
      return tioTdiUnbind(p, env, { dev, tdi, gctx, force: s.force }, carrier);
    case 'sdte': {
      const sdte = { v: s.v, ir: s.v, iw: s.v, vmpl: 0, vtomEn: s.v, vtom: s.v ? 0x1000 : 0 };
      return tioMsgSdteWriteReq(p, env, { gctx, guestDeviceId, sdte });
    }
    case 'info':
      return tioMsgTdiInfoReq(p, env, { gctx, guestDeviceId }, carrier);
    case 'assignMmio':
      return rmpUpdate(p, env, {
        spa: barPage(w, s.bar, s.page),
        assigned: true,
        asid: s.g + 1,
        gpa: gpaMmio(s.bar, s.page),
      });
    case 'assignRam':
      return rmpUpdate(p, env, {
        spa: RAM + BigInt(s.page) * 4096n,
        assigned: true,
        asid: s.g + 1,
        gpa: gpaRam(s.page),
      });
    case 'unassignMmio':
      return rmpUpdate(p, env, { spa: barPage(w, s.bar, s.page), assigned: false });
    case 'unassignRam':
      return rmpUpdate(p, env, { spa: RAM + BigInt(s.page) * 4096n, assigned: false });
    case 'validate':
      return tioMsgMmioValidateReq(p, env, {
        gctx,
        guestDeviceId,
        subrangeBase: gpaMmio(s.bar, 0),
        subrangePageCount: s.pages,
        rangeOffset: 0,
        rangeId: w.tdi.bars[s.bar % w.tdi.bars.length].index,
        validated: s.v,
      });
    case 'pvalidate':
      return pvalidate(p, env, { gctx, gpa: gpaRam(s.page), validate: s.v });
  }
}

/** Page `i` of the TDI's memory BAR number `b` (modulo the BARs it has). */
function barPage(w: SevWorld, b: number, i: number): bigint {
  const bars = w.tdi.bars;
  return bars[b % bars.length].address + BigInt(i) * 4096n;
}

/** The consistency the flavour keeps over the core's records and its own. */
export function checkConsistent(p: SevPlatform): void {
  for (const t of p.tsm.tdis.values()) {
    const ctx = p.vendor.tdis.get(t.rid);
    assert.ok(ctx, `TDI ${t.rid} has a TDI context`);
    if (t.vm === undefined) {
      assert.equal(ctx.gctx, undefined, 'an unbound TDI names no guest context');
      assert.equal(ctx.guestDeviceId, undefined);
      assert.equal(ctx.sdte, undefined, 'an unbound TDI keeps no sDTE');
      assert.equal(ctx.validated.size, 0, 'an unbound TDI keeps no validated MMIO');
      assert.equal(t.nonce, undefined, 'an unbound TDI keeps no START nonce');
      assert.equal(t.report, undefined, 'an unbound TDI keeps no report');
      assert.equal(t.mmio.size, 0, 'no private MMIO mapping of an unbound TDI');
      assert.equal(t.dma, 'none', 'no trusted DMA context of an unbound TDI');
      assert.notEqual(t.state, 'RUN', 'RUN only when bound');
    } else {
      assert.ok(ctx.gctx !== undefined, 'a bound TDI names its guest context');
      assert.equal(p.vendor.guests.get(ctx.gctx)?.vm, t.vm);
      assert.ok(p.tsm.vms.get(t.vm)?.tdis.has(t.rid));
    }
  }
  for (const ctx of p.vendor.tdis.values()) assert.ok(p.tsm.tdis.has(ctx.rid));
  const names = new Set<string>();
  for (const ctx of p.vendor.tdis.values()) {
    if (ctx.gctx === undefined) continue;
    const k = `${ctx.gctx}:${ctx.guestDeviceId}`;
    assert.ok(!names.has(k), `guest BDF ${k} names one TDI`);
    names.add(k);
  }
  const asids = new Set([...p.vendor.guests.values()].map((x) => x.asid));
  for (const f of p.vendor.fences.keys()) assert.ok(asids.has(f), `fence of live ASID ${f}`);
  for (const gc of p.vendor.guests.values()) assert.ok(p.tsm.vms.has(gc.vm));

  // A page has one owner: one live secure-EPT entry at most, and RAM owned by that VM.
  const seen = new Map<bigint, string>();
  for (const [vm, sept] of p.hw.septs) {
    for (const [gfn, e] of pfnEntries(sept.entries)) {
      if (e.state === 'removed') continue;
      const k = e.target.hpfn;
      assert.ok(!seen.has(k), `page 0x${k.toString(16)} mapped by ${seen.get(k)} and ${vm}`);
      seen.set(k, vm);
      if (e.target.kind === 'memory') {
        assert.deepEqual(ownerOf(p.hw.memory, k), { kind: 'private', vm });
        continue;
      }
      // The secure EPT never maps what the report does not list, nor for another VM.
      const t = p.tsm.tdis.get(e.target.rid);
      assert.equal(t?.vm, vm, `MMIO gfn 0x${gfn.toString(16)} of a TDI bound to ${vm}`);
      assert.ok(t && inTeeRange(t, k), `MMIO page 0x${k.toString(16)} in a TEE range`);
      assert.equal(t.mmio.get(gfn), k);
    }
  }
  for (const [k, o] of pfnEntries(p.hw.memory.owners)) {
    if (o.kind === 'private')
      assert.equal(seen.get(BigInt(k)), o.vm, `private page 0x${k.toString(16)}`);
  }
}

describe('SEV-TIO: random ABI call sequences keep the records consistent', () => {
  it('refusals change nothing; bindings, RUN and private state agree', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: PATH.length }),
        fc.array(step, { minLength: 5, maxLength: 25 }),
        async (prefix, steps) => {
          const w = await sevWorld('sev property', { memory: [{ base: RAM, size: 64n << 10n }] });
          for (const s of [...PATH.slice(0, prefix), ...steps]) {
            const before = canonicalHash(w.p);
            const o = await apply(w, s);
            assert.ok(o.events.length > 0, 'every call is an event');
            if (!o.ok) {
              assert.equal(canonicalHash(w.p), before, `${JSON.stringify(s)}: ${o.status}`);
            }
            checkConsistent(w.p);
          }
        },
      ),
      { numRuns: 15, seed: 0x5e7 },
    );
  });
});
