/**
 * The secure EPT's entry life cycle (platform/sept.ts) with the TDX module's statuses: add
 * before and after TDH.MR.FINALIZE, accept, block, track, remove in both modes, translation
 * faults, and refusals that leave the table's canonical hash unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createSept,
  type SeptState,
  septAccept,
  septAdd,
  septBlock,
  septFinalize,
  septRemove,
  septTrack,
  septTranslate,
} from '../../src/platform/sept.ts';
import { canonicalHash } from '../../src/world/hash.ts';

const mem = (hpfn: bigint) => ({ kind: 'memory', hpfn }) as const;

function refused(sept: SeptState, run: () => { result: { ok: boolean } }, error: string): void {
  const before = canonicalHash(sept);
  const o = run() as { result: { ok: false; error: string }; events: { kind: string }[] };
  assert.equal(o.result.ok, false);
  assert.equal(o.result.error, error);
  assert.equal(o.events[0].kind, 'refused');
  assert.equal(canonicalHash(sept), before, `${error} leaves the table unchanged`);
}

describe('platform/sept', () => {
  it('adds present entries before finalize (PAGE.ADD) and pending ones after (PAGE.AUG, MMIO.MAP)', () => {
    const s = createSept('td1');
    const add = septAdd(s, 0x10n, mem(0x100n));
    assert.deepEqual(add.events, [
      {
        kind: 'sept',
        op: 'TDH.MEM.PAGE.ADD',
        vm: 'td1',
        gfn: 0x10n,
        state: 'present',
        target: mem(0x100n),
      },
    ]);
    assert.equal(septFinalize(s).result.ok, true);
    refused(s, () => septFinalize(s), 'TDX_OP_STATE_INCORRECT');
    const aug = septAdd(s, 0x11n, mem(0x101n));
    assert.deepEqual(aug.result, { ok: true, state: 'pending' });
    assert.equal(aug.events[0].kind === 'sept' && aug.events[0].op, 'TDH.MEM.PAGE.AUG');
    const mmio = septAdd(s, 0x12n, { kind: 'mmio', hpfn: 0xe0000n, rid: 0x100 });
    assert.equal(mmio.events[0].kind === 'sept' && mmio.events[0].op, 'TDH.MMIO.MAP');
    assert.deepEqual(septTranslate(s, 0x11000n, 'read'), { ok: false, fault: 'pending' });
    refused(s, () => septAdd(s, 0x10n, mem(0x105n)), 'TDX_EPT_ENTRY_NOT_FREE');
  });

  it('lets the guest accept a pending entry once, and translates it afterwards', () => {
    const s = createSept('td1');
    septFinalize(s);
    septAdd(s, 0x20n, mem(0x200n));
    const acc = septAccept(s, 0x20n);
    assert.equal(acc.events[0].kind === 'sept' && acc.events[0].op, 'TDG.MEM.PAGE.ACCEPT');
    assert.deepEqual(septTranslate(s, 0x20abcn, 'write'), {
      ok: true,
      target: mem(0x200n),
      hpa: 0x200abcn,
    });
    refused(s, () => septAccept(s, 0x20n), 'TDX_PAGE_ALREADY_ACCEPTED');
    refused(s, () => septAccept(s, 0x21n), 'TDX_EPT_WALK_FAILED');
    assert.deepEqual(septTranslate(s, 0x21000n, 'read'), { ok: false, fault: 'not-mapped' });
  });

  it('removes only a blocked entry whose block was tracked (TDH.MEM.TRACK after the block)', () => {
    const s = createSept('td1');
    septAdd(s, 0x30n, mem(0x300n));
    refused(s, () => septRemove(s, 0x30n, 'delete'), 'TDX_GPA_RANGE_NOT_BLOCKED');
    septTrack(s); // a track before the block does not count
    assert.equal(septBlock(s, 0x30n).result.ok, true);
    assert.deepEqual(septTranslate(s, 0x30000n, 'read'), { ok: false, fault: 'blocked' });
    refused(s, () => septBlock(s, 0x30n), 'TDX_GPA_RANGE_ALREADY_BLOCKED');
    refused(s, () => septRemove(s, 0x30n, 'delete'), 'TDX_TLB_TRACKING_NOT_DONE');
    assert.deepEqual(septTrack(s).result, { ok: true, epoch: 2 });
    const rm = septRemove(s, 0x30n, 'delete');
    assert.deepEqual(rm.result, { ok: true, target: mem(0x300n) });
    assert.equal(rm.events[0].kind === 'sept' && rm.events[0].op, 'TDH.MEM.PAGE.REMOVE');
    assert.equal(s.entries[0x30] !== undefined, false);
    assert.deepEqual(septTranslate(s, 0x30000n, 'read'), { ok: false, fault: 'not-mapped' });
  });

  it("destroys an entry CCA's way: it stays 'removed' and the next access faults", () => {
    const s = createSept('realm');
    septAdd(s, 0x40n, mem(0x400n));
    septBlock(s, 0x40n);
    septTrack(s);
    const rm = septRemove(s, 0x40n, 'destroy');
    assert.equal(rm.events[0].kind === 'sept' && rm.events[0].op, 'RMI_DATA_DESTROY');
    assert.deepEqual(s.entries[0x40], { target: mem(0x400n), state: 'removed' });
    assert.deepEqual(septTranslate(s, 0x40000n, 'read'), { ok: false, fault: 'removed' });
    refused(s, () => septAdd(s, 0x40n, mem(0x401n)), 'TDX_EPT_ENTRY_NOT_FREE');
    refused(s, () => septBlock(s, 0x40n), 'TDX_EPT_ENTRY_STATE_INCORRECT');
    refused(s, () => septRemove(s, 0x40n, 'destroy'), 'TDX_EPT_ENTRY_STATE_INCORRECT');
    refused(s, () => septAccept(s, 0x40n), 'TDX_EPT_ENTRY_STATE_INCORRECT');
  });
});
