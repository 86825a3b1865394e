/**
 * RMI PDEV commands of the CCA-like flavour (RMM specification 1.1, A9.2.3 and the B4.5
 * failure conditions): each refusal with its RmiStatusCode, changing no record; the states a
 * device error, a wrong key and a stop lead to.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RequesterTransport } from '../../../src/wire/transport.ts';
import { H, leafKeyOf, ok, pdevReady, refused, vdevUnlocked, world } from './world.ts';

const dropping = (c: RequesterTransport): RequesterTransport => ({
  binding: c.binding,
  exchange: () => Promise.reject(Object.assign(new Error('dropped'), { name: 'TransportError' })),
  close: async () => undefined,
});

describe('RMI_PDEV_*: refusals', () => {
  it('CREATE twice, or with function 0 outside its requester ids, is RMI_ERROR_INPUT', async () => {
    const { p, env, pdev } = await world('pdev create');
    await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_PDEV_CREATE(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_PDEV_CREATE(p, env, { pdev: pdev + 1, ridBase: pdev + 2, ridTop: pdev + 8 }),
    );
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_PDEV_GET_STATE(p, env, { pdev: 0x7777 }));
  });

  it('COMMUNICATE needs a PDEV, a buffer and a pending transaction', async () => {
    const { p, env, carrier, pdev } = await world('pdev communicate');
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
    await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_PDEV_COMMUNICATE(p, env, { pdev }));
    const c = await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
    assert.equal(c.state, 'PDEV_NEEDS_KEY');
    // NEEDS_KEY waits for the Host's key: there is nothing to carry.
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
  });

  it('SET_PUBKEY only in PDEV_NEEDS_KEY, and only with a public key', async () => {
    const { p, env, carrier, pdev } = await world('pdev setkey');
    await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
    const key = new Uint8Array(
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
        type: 'spki',
        format: 'der',
      }),
    );
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_SET_PUBKEY(p, env, { pdev, key }));
    await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_PDEV_SET_PUBKEY(p, env, { pdev, key: new Uint8Array([0x30, 0x03, 1, 2, 3]) }),
    );
    // A well-formed key that is not the device's: the key exchange fails -> PDEV_ERROR.
    await ok(H.RMI_PDEV_SET_PUBKEY(p, env, { pdev, key }));
    const r = await H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier);
    assert.equal(r.status, 'RMI_SUCCESS');
    assert.equal(r.value?.state, 'PDEV_ERROR');
    assert.match(r.detail ?? '', /does not verify/);
    assert.equal(p.tsm.devices.get(pdev)?.phase, 'disconnected', 'the session is ended');
    // From PDEV_ERROR the way out is STOP.
    await ok(H.RMI_PDEV_STOP(p, env, { pdev }));
    assert.equal(
      (await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier))).state,
      'PDEV_STOPPED',
    );
    await ok(H.RMI_PDEV_DESTROY(p, env, { pdev }));
    assert.equal(p.tsm.links.size, 0);
  });

  it('a device that fails the chain read sends the PDEV to PDEV_ERROR', async () => {
    const { p, env, carrier, pdev } = await world('pdev error');
    await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
    const r = await H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, dropping(carrier));
    assert.equal(r.value?.state, 'PDEV_ERROR');
    assert.match(r.detail ?? '', /certificate chain: dropped/);
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_DESTROY(p, env, { pdev }));
  });

  it('STOP and DESTROY: not twice, not before STOPPED, not with VDEVs', async () => {
    const w = await world('pdev stop');
    const { p, env, carrier, pdev, tdi, rd } = w;
    await pdevReady(w);
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_DESTROY(p, env, { pdev }));
    await vdevUnlocked(w);
    // PDEV_DESTROY with a VDEV: the PDEV is not STOPPED, and it cannot be stopped.
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_DESTROY(p, env, { pdev }));
    const s = await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_STOP(p, env, { pdev }));
    assert.match(s.detail ?? '', /1 VDEVs/);
    await ok(H.RMI_VDEV_DESTROY(p, env, { rd, pdev, vdev: tdi.requesterId }));
    await ok(H.RMI_PDEV_STOP(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_STOP(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_DESTROY(p, env, { pdev }));
    await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_STOP(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_DEVICE', () =>
      H.RMI_VDEV_CREATE(p, env, { rd, pdev, tdi: tdi.requesterId, vdevId: 1n }),
    );
    await ok(H.RMI_PDEV_DESTROY(p, env, { pdev }));
  });

  it('the Host may read the key from the chain it cached', async () => {
    const { p, env, carrier, pdev } = await world('pdev key');
    await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
    const c = await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
    assert.deepEqual(leafKeyOf(c.cache), p.vendor.pdevs.get(pdev)?.leafKey);
  });
});
