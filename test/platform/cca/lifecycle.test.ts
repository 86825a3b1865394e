/**
 * The CCA-like flavour end to end against teeio's NIC, using only RMI (Host) and RSI (Realm)
 * calls: a PDEV from PDEV_NEW to PDEV_READY, a VDEV bound to a Realm, locked, reported,
 * started, the Realm's checks and DMA consent, then unlock, destroy and stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digest } from '../../../src/crypto/hash.ts';
import { tdiRunning } from '../../../src/platform/tsm/state.ts';
import { G, H, ok, pdevReady, vdevLockedReported, vdevUnlocked, world } from './world.ts';

describe('CCA-like flavour: a TDI from connect to RUN and back through RMI and RSI', () => {
  it('PDEV_READY, VDEV_STARTED, Realm attests and enables DMA, then everything unwinds', async () => {
    const w = await world();
    const { p, env, carrier, pdev, tdi, rd, vdevId } = w;
    await pdevReady(w);
    assert.equal(p.tsm.devices.get(pdev)?.phase, 'connected');
    assert.equal(await ok(H.RMI_PDEV_GET_STATE(p, env, { pdev })), 'PDEV_READY');

    await vdevUnlocked(w);
    const ref = { rd, pdev, vdev: tdi.requesterId };
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.vm, rd);
    const report = await vdevLockedReported(w);
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.state, 'CONFIG_LOCKED');

    // The Realm checks the report the Host hands it against the digest the RMM keeps.
    const info = await ok(G.RSI_VDEV_GET_INFO(p, env, { realm: rd, vdevId }));
    assert.equal(info.state, 'RSI_VDEV_LOCKED');
    assert.deepEqual(info.reportDigest, digest('sha256', report));
    assert.equal(info.lockNonce, 1n);
    assert.equal(info.reportNonce, 1n);

    await ok(H.RMI_VDEV_START(p, env, ref));
    assert.equal((await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier))).state, 'VDEV_STARTED');
    assert.equal(tdiRunning(p.tsm, tdi.requesterId), true);
    assert.equal(await ok(H.RMI_VDEV_GET_STATE(p, env, { vdev: tdi.requesterId })), 'VDEV_STARTED');

    const attest = { lockNonce: info.lockNonce, measNonce: info.measNonce, reportNonce: 1n };
    await ok(G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...attest }));
    assert.equal(p.vendor.vdevs.get(tdi.requesterId)?.dma, 'VDEV_DMA_ENABLED');

    await ok(H.RMI_VDEV_UNLOCK(p, env, ref));
    assert.equal(p.vendor.vdevs.get(tdi.requesterId)?.dma, 'VDEV_DMA_DISABLED');
    assert.equal((await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier))).state, 'VDEV_UNLOCKED');
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.state, 'CONFIG_UNLOCKED');
    await ok(H.RMI_VDEV_DESTROY(p, env, ref));
    assert.equal(p.tsm.tdis.size, 0);
    await ok(H.RMI_REALM_DESTROY(p, env, { rd }));

    await ok(H.RMI_PDEV_STOP(p, env, { pdev }));
    assert.equal(
      (await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier))).state,
      'PDEV_STOPPED',
    );
    assert.equal(p.tsm.devices.get(pdev)?.phase, 'disconnected');
    await ok(H.RMI_PDEV_DESTROY(p, env, { pdev }));
    assert.equal(p.vendor.pdevs.size, 0);
    assert.equal(p.tsm.devices.size, 0);
    assert.equal(p.tsm.links.size, 0);
  });
});
