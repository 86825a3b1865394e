/**
 * RMI VDEV and RSI commands of the CCA-like flavour (RMM specification 1.1, A9.4.3, A9.6 and
 * the B4.5 / B5.4 failure conditions): the ordering rules (START before LOCK, a transaction
 * already pending, UNLOCK / DESTROY states), the Realm's view limited to its own devices,
 * stale attestation refused, a device error to VDEV_ERROR and back, and UNLOCK leaving
 * nothing private of the TDI.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequesterTransport } from '../../../src/wire/transport.ts';
import {
  G,
  H,
  ok,
  pdevReady,
  refused,
  vdevLockedReported,
  vdevUnlocked,
  type World,
  world,
} from './world.ts';

const dropping = (c: RequesterTransport): RequesterTransport => ({
  binding: c.binding,
  exchange: () => Promise.reject(Object.assign(new Error('dropped'), { name: 'TransportError' })),
  close: async () => undefined,
});

async function ready(
  seed: string,
): Promise<World & { ref: { rd: string; pdev: number; vdev: number } }> {
  const w = await world(seed);
  await pdevReady(w);
  await vdevUnlocked(w);
  return { ...w, ref: { rd: w.rd, pdev: w.pdev, vdev: w.tdi.requesterId } };
}

describe('RMI_VDEV_CREATE', () => {
  it('needs a Realm, a PDEV in PDEV_READY, a free vdev_id and a free tdi_id of the PDEV', async () => {
    const w = await world('vdev create');
    const { p, env, carrier, pdev, tdi, rd } = w;
    const a = { rd, pdev, tdi: tdi.requesterId, vdevId: 1n };
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_CREATE(p, env, a));
    await ok(H.RMI_REALM_CREATE(p, env, { rd }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_CREATE(p, env, a));
    await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_CREATE(p, env, a));
    p.vendor.pdevs.delete(pdev);
    p.tsm.devices.delete(pdev);
    await pdevReady({ ...w });
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_VDEV_CREATE(p, env, { ...a, tdi: (pdev & 0xff00) + 0x100 }),
    );
    await ok(H.RMI_VDEV_CREATE(p, env, a));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_CREATE(p, env, a));
    const other = w.dev.tdis()[1];
    assert.ok(other, 'the NIC has a second TDI');
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_VDEV_CREATE(p, env, { ...a, tdi: other.requesterId }),
    );
    await refused(p, 'RMI_ERROR_REALM', () => H.RMI_REALM_DESTROY(p, env, { rd }));
    const ref = { rd, pdev, vdev: tdi.requesterId };
    assert.equal((await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier))).state, 'VDEV_UNLOCKED');
  });
});

describe('RMI_VDEV_*: ordering rules', () => {
  it('VDEV_START before LOCK is refused, in VDEV_NEW and in VDEV_UNLOCKED', async () => {
    const w = await world('start before lock');
    const { p, env, carrier, pdev, tdi, rd } = w;
    await pdevReady(w);
    await ok(H.RMI_REALM_CREATE(p, env, { rd }));
    await ok(H.RMI_VDEV_CREATE(p, env, { rd, pdev, tdi: tdi.requesterId, vdevId: 1n }));
    const ref = { rd, pdev, vdev: tdi.requesterId };
    const r = await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_START(p, env, ref));
    assert.match(r.detail ?? '', /VDEV_NEW, needs VDEV_LOCKED/);
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_START(p, env, ref));
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.state, 'CONFIG_UNLOCKED');
  });

  it('one transaction at a time; START needs the report; each call in its states', async () => {
    const { p, env, carrier, ref } = await ready('vdev order');
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_GET_INTERFACE_REPORT(p, env, ref));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_UNLOCK(p, env, ref));
    await ok(H.RMI_VDEV_LOCK(p, env, ref));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_LOCK(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_LOCK(p, env, ref));
    const s = await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_START(p, env, ref));
    assert.match(s.detail ?? '', /no interface report/);
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_DESTROY(p, env, ref));
    await ok(H.RMI_VDEV_GET_INTERFACE_REPORT(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await ok(H.RMI_VDEV_START(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_DESTROY(p, env, ref));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_START(p, env, ref));
  });

  it('a VDEV is named with its own Realm and PDEV', async () => {
    const { p, env, carrier, ref } = await ready('vdev names');
    await ok(H.RMI_REALM_CREATE(p, env, { rd: 'realm2' }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_LOCK(p, env, { ...ref, rd: 'realm2' }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_LOCK(p, env, { ...ref, rd: 'nope' }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_LOCK(p, env, { ...ref, vdev: 0x7777 }));
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_VDEV_COMMUNICATE(p, env, { ...ref, pdev: 0x7777 }, carrier),
    );
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_GET_STATE(p, env, { vdev: 0x7777 }));
    await refused(p, 'RMI_ERROR_INPUT', () => H.RMI_VDEV_COMMUNICATE(p, env, ref));
  });
});

describe('RSI_VDEV_*: the Realm sees only its devices and consents only to what it attested', () => {
  it('GET_INFO and DMA_ENABLE: another Realm, wrong state, stale nonces', async () => {
    const w = await ready('rsi');
    const { p, env, carrier, ref, rd, vdevId } = w;
    await ok(H.RMI_REALM_CREATE(p, env, { rd: 'realm2' }));
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_VDEV_GET_INFO(p, env, { realm: 'realm2', vdevId }),
    );
    await refused(p, 'RSI_ERROR_STATE', () => G.RSI_VDEV_GET_INFO(p, env, { realm: 'x', vdevId }));
    const unlocked = await ok(G.RSI_VDEV_GET_INFO(p, env, { realm: rd, vdevId }));
    assert.equal(unlocked.state, 'RSI_VDEV_UNLOCKED');
    assert.equal(unlocked.reportDigest, undefined);
    await vdevLockedReported(w);
    const info = await ok(G.RSI_VDEV_GET_INFO(p, env, { realm: rd, vdevId }));
    const attest = {
      lockNonce: info.lockNonce,
      measNonce: info.measNonce,
      reportNonce: info.reportNonce,
    };
    await refused(p, 'RSI_ERROR_DEVICE', () =>
      G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...attest }),
    );
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_VDEV_DMA_ENABLE(p, env, { realm: 'realm2', vdevId, ...attest }),
    );
    // The Host fetches the report again: the Realm's attestation is stale.
    await ok(H.RMI_VDEV_GET_INTERFACE_REPORT(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await ok(H.RMI_VDEV_START(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    const stale = await refused(p, 'RSI_ERROR_DEVICE', () =>
      G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...attest }),
    );
    assert.match(stale.detail ?? '', /locked or reported since/);
    await ok(G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...attest, reportNonce: 2n }));
    await ok(G.RSI_VDEV_DMA_DISABLE(p, env, { realm: rd, vdevId }));
    assert.equal(p.vendor.vdevs.get(ref.vdev)?.dma, 'VDEV_DMA_DISABLED');
  });
});

describe('VDEV_ERROR and VDEV_UNLOCK', () => {
  it('a TDISP error in COMMUNICATE is VDEV_ERROR; UNLOCK brings it back to VDEV_UNLOCKED', async () => {
    const w = await ready('vdev error');
    const { p, env, carrier, ref, dev, tdi } = w;
    await vdevLockedReported(w);
    // The Host clears Memory Space Enable under the locked TDI: the DSM moves it to ERROR.
    dev.host.configWrite(tdi.fn, 0x04, 2, 0x0000);
    await ok(H.RMI_VDEV_GET_INTERFACE_REPORT(p, env, ref));
    const r = await H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier);
    assert.equal(r.status, 'RMI_SUCCESS');
    assert.equal(r.value?.state, 'VDEV_ERROR');
    assert.match(r.detail ?? '', /GET_DEVICE_INTERFACE_REPORT/);
    assert.equal(p.vendor.pdevs.get(ref.pdev)?.state, 'PDEV_READY', 'the session survives');
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_LOCK(p, env, ref));
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_START(p, env, ref));
    await ok(H.RMI_VDEV_UNLOCK(p, env, ref));
    assert.equal((await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier))).state, 'VDEV_UNLOCKED');
    assert.equal(p.tsm.tdis.get(ref.vdev)?.state, 'CONFIG_UNLOCKED');
  });

  it('a lost session is VDEV_ERROR and PDEV_ERROR; the VDEV is destroyed, the PDEV stopped', async () => {
    const { p, env, carrier, ref, rd } = await ready('session lost');
    await ok(H.RMI_VDEV_LOCK(p, env, ref));
    const r = await H.RMI_VDEV_COMMUNICATE(p, env, ref, dropping(carrier));
    assert.equal(r.value?.state, 'VDEV_ERROR');
    assert.match(r.detail ?? '', /LOCK_INTERFACE_REQUEST: dropped/);
    assert.equal(p.vendor.pdevs.get(ref.pdev)?.state, 'PDEV_ERROR');
    assert.equal(p.tsm.devices.get(ref.pdev)?.phase, 'disconnected');
    const u = await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_UNLOCK(p, env, ref));
    assert.match(u.detail ?? '', /PDEV_ERROR/);
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_PDEV_STOP(p, env, { pdev: ref.pdev }));
    await ok(H.RMI_VDEV_DESTROY(p, env, ref));
    assert.equal(p.tsm.tdis.has(ref.vdev), false);
    assert.equal(p.tsm.vms.get(rd)?.tdis.size, 0);
    await ok(H.RMI_PDEV_STOP(p, env, { pdev: ref.pdev }));
    const s = await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev: ref.pdev }, carrier));
    assert.equal(s.state, 'PDEV_STOPPED');
    await ok(H.RMI_PDEV_DESTROY(p, env, { pdev: ref.pdev }));
  });

  it('UNLOCK from VDEV_STARTED rolls the TDI back to CONFIG_UNLOCKED with nothing private left', async () => {
    const w = await ready('unlock');
    const { p, env, carrier, ref, rd, vdevId } = w;
    await vdevLockedReported(w);
    await ok(H.RMI_VDEV_START(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    const info = await ok(G.RSI_VDEV_GET_INFO(p, env, { realm: rd, vdevId }));
    const attest = {
      lockNonce: info.lockNonce,
      measNonce: info.measNonce,
      reportNonce: info.reportNonce,
    };
    await ok(G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...attest }));

    await ok(H.RMI_VDEV_UNLOCK(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    const t = p.tsm.tdis.get(ref.vdev);
    assert.equal(t?.state, 'CONFIG_UNLOCKED');
    assert.equal(t?.nonce, undefined, 'START nonce wiped');
    assert.equal(t?.report, undefined, 'report gone');
    assert.equal(t?.mmio.size, 0);
    assert.equal(t?.dma, 'none');
    const v = p.vendor.vdevs.get(ref.vdev);
    assert.equal(v?.state, 'VDEV_UNLOCKED');
    assert.equal(v?.dma, 'VDEV_DMA_DISABLED');
    assert.equal(v?.reportDigest, undefined);
    const after = await ok(G.RSI_VDEV_GET_INFO(p, env, { realm: rd, vdevId }));
    assert.equal(after.state, 'RSI_VDEV_UNLOCKED');
    assert.equal(after.reportDigest, undefined);
    // What the Realm attested before does not carry over a new LOCK.
    await vdevLockedReported(w);
    await ok(H.RMI_VDEV_START(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await refused(p, 'RSI_ERROR_DEVICE', () =>
      G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...attest }),
    );
  });
});
