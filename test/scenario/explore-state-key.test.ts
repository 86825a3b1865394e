/**
 * The explorer's state key (src/scenario/explore/state-key.ts): a digest of a snapshot's
 * contents, the same whichever snapshot an unchanged part was handed over from (World.snapshot
 * with `prev`) and in any world built from the same config, and different for any change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exploreWorld } from '../../src/scenario/explore/explore.ts';
import { defaultBackbone } from '../../src/scenario/explore/moves.ts';
import { stateKey } from '../../src/scenario/explore/state-key.ts';
import type { WorldSnapshot } from '../../src/world/world.ts';

const cfg = { world: { flavour: 'tdx' as const, seed: 'state key test' } };
const keyOf = (x: unknown) => stateKey(x as WorldSnapshot);

describe('explorer state key', () => {
  it('is the same for a snapshot sharing the one before it and for a whole copy, step by step, in two worlds', async () => {
    const a = await exploreWorld(cfg);
    const b = await exploreWorld(cfg);
    let prev = a.snapshot();
    const keys = new Set([stateKey(prev)]);
    let shared = 0;
    for (const step of defaultBackbone(a)) {
      await a.perform(step);
      await b.perform(step);
      const after = a.snapshot(prev);
      const whole = a.snapshot();
      assert.equal(stateKey(after), stateKey(whole), `after ${step.do}`);
      assert.equal(stateKey(b.snapshot()), stateKey(whole), `the other world, after ${step.do}`);
      if (after.h === prev.h) shared++;
      keys.add(stateKey(after));
      prev = after;
    }
    assert.ok(shared > 0, 'some steps left the host records as they were, and they were shared');
    assert.ok(keys.size > 10, `the lifecycle's states have keys of their own (${keys.size})`);
  });

  it('tells apart any change of a byte, a number, a type, a key or an order', () => {
    const base = {
      page: new Uint8Array(4096),
      n: 1,
      m: new Map([
        [1, 'a'],
        [2, 'b'],
      ]),
      o: { x: 1 },
    };
    const page = new Uint8Array(4096);
    page[4095] = 1;
    const variants = [
      { ...base, page },
      { ...base, n: 1.5 },
      { ...base, n: '1' },
      { ...base, n: 1n },
      { ...base, n: undefined },
      { ...base, m: new Map([[1, 'a']]) },
      {
        ...base,
        m: new Map([
          [1, 'a'],
          [2, 'c'],
        ]),
      },
      { ...base, o: { y: 1 } },
      { ...base, o: [1] },
      { o: base.o, n: base.n, m: base.m, page: base.page },
    ];
    const keys = new Set([keyOf(base), ...variants.map(keyOf)]);
    assert.equal(keys.size, variants.length + 1);
    // What the engine does not tell apart either: how V8 holds a number.
    assert.equal(keyOf({ n: 2 }), keyOf({ n: 4 / 2 }));
    assert.equal(keyOf({ n: 0.1 + 0.2 }), keyOf({ n: 0.1 + 0.2 }));
  });

  it('refuses a record that contains itself', () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    assert.throws(() => keyOf(o), /contains itself/);
  });
});
