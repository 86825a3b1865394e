/**
 * The root port's IDE stream (platform/root-port.ts): Secure exactly when every slot of the
 * active key set (3 sub-streams x 2 directions) is programmed and started; K_SET_STOP wipes a
 * key and takes the stream out of Secure; the RID association; refusals keep the state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRootPort,
  type RootPortState,
  rootPortAssociate,
  rootPortDissociate,
  rootPortKeyProg,
  rootPortKeySetGo,
  rootPortKeySetStop,
  rootPortStreamState,
} from '../../src/platform/root-port.ts';
import { streamSlots } from '../../src/platform/tsm/ide-km-client.ts';
import { canonicalHash } from '../../src/world/hash.ts';

const KEY = [1, 2, 3, 4, 5, 6, 7, 8];
const IFV = [9, 10];

function refused(
  rp: RootPortState,
  o: { result: { ok: true } | { ok: false; error: string } },
  before: string,
  error: string,
) {
  assert.equal(o.result.ok, false);
  assert.equal(!o.result.ok && o.result.error, error);
  assert.equal(canonicalHash(rp), before);
}

describe('platform/root-port', () => {
  it('is Secure only when all six slots of the key set are programmed and started', () => {
    const rp = createRootPort();
    const slots = streamSlots(0);
    for (const s of slots)
      assert.equal(rootPortKeyProg(rp, 3, { ...s, key: KEY, ifv: IFV }).result.ok, true);
    assert.equal(rootPortStreamState(rp, 3), 'insecure', 'programmed, not started');
    for (const [i, s] of slots.entries()) {
      const o = rootPortKeySetGo(rp, 3, s);
      const want = i === slots.length - 1 ? 'secure' : 'insecure';
      assert.deepEqual(o.events, [
        { kind: 'root-port-ide', op: 'K_SET_GO', streamId: 3, slot: s, state: want },
      ]);
    }
    assert.equal(rootPortStreamState(rp, 3), 'secure');
    assert.equal(rootPortStreamState(rp, 4), 'insecure');

    const before = canonicalHash(rp);
    refused(rp, rootPortKeyProg(rp, 3, { ...slots[0], key: KEY, ifv: IFV }), before, 'EBUSY');
    refused(
      rp,
      rootPortKeyProg(rp, 3, { ...slots[0], keySet: 1, key: [1], ifv: IFV }),
      before,
      'EINVAL',
    );
    refused(rp, rootPortKeyProg(rp, 256, { ...slots[0], key: KEY, ifv: IFV }), before, 'EINVAL');
    refused(rp, rootPortKeySetGo(rp, 3, { ...slots[0], keySet: 1 }), before, 'ENOKEY');
    refused(rp, rootPortKeySetStop(rp, 5, slots[0]), before, 'ENOKEY');

    const stop = rootPortKeySetStop(rp, 3, slots[2]);
    assert.deepEqual(stop.events, [
      { kind: 'root-port-ide', op: 'K_SET_STOP', streamId: 3, slot: slots[2], state: 'insecure' },
    ]);
    assert.equal(rp.streams.get(3)?.slots.size, 5, 'the stopped key is gone');
    for (const s of slots.filter((_, i) => i !== 2)) rootPortKeySetStop(rp, 3, s);
    assert.equal(rp.streams.size, 0);
  });

  it('a stream with K0 started stays Secure until K1 is started on every slot (key refresh)', () => {
    const rp = createRootPort();
    for (const s of streamSlots(0)) {
      rootPortKeyProg(rp, 0, { ...s, key: KEY, ifv: IFV });
      rootPortKeySetGo(rp, 0, s);
    }
    for (const s of streamSlots(1)) rootPortKeyProg(rp, 0, { ...s, key: KEY, ifv: IFV });
    assert.equal(rootPortStreamState(rp, 0), 'secure');
    const k1 = streamSlots(1);
    rootPortKeySetGo(rp, 0, k1[0]);
    assert.equal(
      rootPortStreamState(rp, 0),
      'insecure',
      'switching key sets: K1 is not complete yet',
    );
    for (const s of k1.slice(1)) rootPortKeySetGo(rp, 0, s);
    assert.equal(rootPortStreamState(rp, 0), 'secure');
  });

  it('associates a requester id with one stream', () => {
    const rp = createRootPort();
    assert.equal(rootPortAssociate(rp, 0x100, 0).result.ok, true);
    const before = canonicalHash(rp);
    refused(rp, rootPortAssociate(rp, 0x100, 1), before, 'EBUSY');
    refused(rp, rootPortDissociate(rp, 0x101), before, 'ENOENT');
    assert.equal(rootPortDissociate(rp, 0x100).result.ok, true);
    assert.equal(rp.rids.size, 0);
  });
});
