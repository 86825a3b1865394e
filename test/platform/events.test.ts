/**
 * Platform events in the world's trace (world/trace.ts platformSink): each record carries the
 * trust domain that caused it: a transaction's issuer, the guest for TDG.* calls, the TSM for
 * firmware operations and conversions, the host for what it programs itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PlatformEvent, platformEventDomain } from '../../src/platform/events.ts';
import { Trace } from '../../src/world/trace.ts';

const cases: [PlatformEvent, string][] = [
  [
    {
      kind: 'transaction',
      domain: 'device',
      request: 'MemWr',
      t: true,
      address: 0n,
      length: 4,
      verdict: 'SC',
    },
    'device',
  ],
  [
    {
      kind: 'transaction',
      domain: 'guest',
      request: 'MemRd',
      t: true,
      address: 0n,
      length: 4,
      verdict: 'CA',
      reason: 'tdi-not-run',
    },
    'guest',
  ],
  [
    {
      kind: 'memory',
      op: 'release-to-shared',
      hpfn: 1n,
      owner: { kind: 'shared' },
      scrubbed: true,
    },
    'tsm',
  ],
  [{ kind: 'sept', op: 'TDH.MEM.PAGE.AUG', vm: 'td1', gfn: 1n }, 'tsm'],
  [{ kind: 'sept', op: 'TDG.MEM.PAGE.ACCEPT', vm: 'td1', gfn: 1n }, 'guest'],
  [{ kind: 'sept', op: 'RMI_DATA_DESTROY', vm: 'r', gfn: 1n }, 'tsm'],
  [{ kind: 'secure-dma', op: 'TDG.DMAR.ACCEPT', rid: 1, vm: 'td1' }, 'guest'],
  [{ kind: 'secure-dma', op: 'TDH.DMAR.ADD', rid: 1, vm: 'td1' }, 'tsm'],
  [{ kind: 'root-port-ide', op: 'K_SET_GO', streamId: 0, state: 'secure' }, 'tsm'],
  [{ kind: 'iommu', op: 'iommu_map', domain: 1 }, 'host'],
  [{ kind: 'shared-ept', op: 'map', vm: 'td1', gfn: 1n, hpfn: 2n }, 'host'],
  [{ kind: 'bar-route', op: 'add', rid: 1, bar: 0 }, 'host'],
  [{ kind: 'refused', op: 'iommu_map', error: 'EPERM', reason: 'private' }, 'host'],
  [{ kind: 'refused', op: 'TDG.MMIO.ACCEPT', error: 'TDX_EPT_WALK_FAILED', reason: 'x' }, 'guest'],
  [
    { kind: 'refused', op: 'TDH.MEM.PAGE.REMOVE', error: 'TDX_TLB_TRACKING_NOT_DONE', reason: 'x' },
    'tsm',
  ],
];

describe('platform events in the trace', () => {
  it('names the trust domain of each event', () => {
    for (const [e, want] of cases)
      assert.equal(
        platformEventDomain(e),
        want,
        JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
      );
  });

  it('platformSink adds one platform record per event', () => {
    const t = new Trace();
    const sink = t.platformSink();
    for (const [e] of cases) sink(e);
    assert.deepEqual(
      t.records.map((r) => (r.kind === 'platform' ? r.domain : r.kind)),
      cases.map(([, d]) => d),
    );
    assert.equal(t.records[0].kind === 'platform' && t.records[0].event, cases[0][0]);
  });
});
