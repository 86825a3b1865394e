/**
 * The CCA TSM host driver through the PCI/TSM core: tsm/connect and tsm/disconnect as RMI
 * PDEV commands with their errnos, the host half of a TDI's life with a Realm (RMI_REALM_*,
 * RMI_DATA_*, RMI_VDEV_*), the Realm's requests relayed, and what the RMM does to a host
 * that takes device memory back from a running Realm: the Realm's next access is a fatal
 * abort. Every refusal leaves the host's records and the platform's as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmDisconnect,
  pciTsmStop,
  pciTsmUnbind,
} from '../../../src/host/pci-tsm/core.ts';
import type { CcaDriverRecords } from '../../../src/host/tsm/cca/index.ts';
import { ownerOf } from '../../../src/platform/memory.ts';
import { pfnValues } from '../../../src/platform/pfn-table.ts';
import { ok, refused } from '../world.ts';
import {
  type CcaWorld,
  ccaWorld,
  connectedRealm,
  D,
  G,
  guestReq,
  IMAGE_GFN,
  realmAccess,
  rsiOk,
  toRun,
  VDEV_ID,
  VM,
} from './cca-world.ts';

const records = (w: CcaWorld) => w.h.tsmDriver.cca as CcaDriverRecords;
const calls = (events: { kind: string }[]) =>
  events.flatMap((e) => ('call' in e ? [e.call as string] : []));

/** No secure-stage-2 entry of the TDI's MMIO is live (a destroyed one is the Realm's tombstone). */
function noLiveMmio(w: CcaWorld): void {
  for (const e of pfnValues(w.p.hw.septs.get(VM)?.entries ?? {})) {
    assert.ok(e.target.kind !== 'mmio' || e.state === 'removed', 'no live MMIO entry');
  }
  assert.equal(w.p.tsm.tdis.get(w.rid)?.mmio.size ?? 0, 0);
}

/** BAR and offset of bus address `pa` of the TDI. */
function barOffset(w: CcaWorld, pa: bigint): { bar: number; offset: number } {
  for (let bar = 0; bar < 6; bar++) {
    const b = w.m.barAddress(w.rid, bar);
    if (b && pa >= b.base && pa < b.base + b.size) return { bar, offset: Number(pa - b.base) };
  }
  assert.fail(`0x${pa.toString(16)} is in no BAR`);
}

describe('CCA host driver: tsm/connect and tsm/disconnect', () => {
  it('connects through RMI_PDEV_* with the key from the cached chain; the sysfs errnos', async () => {
    const w = await ccaWorld('cca connect');
    const { m, h, dsm } = w;
    const connect = (tsm: string) => () => pciTsmConnect(m, h, { dsm, tsm });
    const disconnect = (tsm: string) => () => pciTsmDisconnect(m, h, { dsm, tsm });
    await refused(w, 'EINVAL', connect('foo'));
    await refused(w, 'ENXIO', connect('tsm1'));
    await refused(w, 'ENXIO', disconnect(LINK_TSM));

    const c = await connect(LINK_TSM)();
    ok(c);
    assert.deepEqual(calls(c.events), [
      'RMI_PDEV_CREATE',
      'RMI_PDEV_COMMUNICATE',
      'RMI_PDEV_SET_PUBKEY',
      'RMI_PDEV_COMMUNICATE',
    ]);
    assert.equal(c.events.at(-1)?.kind, 'uapi');
    assert.equal(w.p.tsm.devices.get(dsm)?.phase, 'connected');
    assert.equal(w.vendor.pdevs.get(dsm)?.state, 'PDEV_READY');
    assert.equal(h.pciTsm.devices.get(dsm)?.connectedTo, LINK_TSM);
    assert.ok(records(w).pdevs.get(dsm)?.certChain.length, 'the chain is cached');

    await refused(w, 'EBUSY', connect(LINK_TSM));
    await refused(w, 'EINVAL', disconnect('tsm1'));

    // While a TDI is bound the device stays connected.
    ok(await D.vmCreate(m, h, VM));
    ok(await D.vmFinalize(m, h, VM));
    ok(await pciTsmBind(m, h, { rid: w.rid, vm: VM, vdevId: VDEV_ID }));
    await refused(w, 'EBUSY', disconnect(LINK_TSM));
    ok(await pciTsmStop(m, h, { rid: w.rid }));
    ok(await pciTsmUnbind(m, h, { rid: w.rid }));

    const d = await disconnect(LINK_TSM)();
    ok(d);
    assert.deepEqual(calls(d.events), [
      'RMI_PDEV_STOP',
      'RMI_PDEV_COMMUNICATE',
      'RMI_PDEV_DESTROY',
    ]);
    assert.equal(w.p.tsm.devices.has(dsm), false);
    assert.equal(w.vendor.pdevs.size, 0);
    assert.equal(w.p.tsm.links.size, 0);
    assert.equal(records(w).pdevs.size, 0);
    assert.equal(h.pciTsm.devices.has(dsm), false);
    // Connected again from scratch.
    ok(await connect(LINK_TSM)());
  });

  it('a PDEV the host does not know of is a device in use: -EBUSY, the RMM left as it was', async () => {
    const w = await ccaWorld('cca stray pdev');
    const { m, h, dsm } = w;
    assert.equal((await m.firmware('RMI_PDEV_CREATE', { pdev: dsm })).ok, true);
    const o = await refused(w, 'EBUSY', () => pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.deepEqual(calls(o.events), ['RMI_PDEV_CREATE']);
    assert.equal(w.vendor.pdevs.get(dsm)?.state, 'PDEV_NEW');
  });
});

describe('CCA host driver: a TDI from connect to RUN and back', () => {
  it('realm, image, bind, relayed report and start, private MMIO; then stop, unmap, unbind', async () => {
    const w = await ccaWorld('cca lifecycle');
    const { m, h, rid, p, dsm } = w;
    const image = await connectedRealm(w);
    assert.deepEqual(ownerOf(p.hw.memory, image[0]), { kind: 'private', vm: VM });
    assert.equal(p.hw.septs.get(VM)?.entries[Number(IMAGE_GFN)]?.state, 'present');
    assert.equal(p.tsm.vms.get(VM)?.finalized, true);

    const { gfns, pages } = await toRun(w);
    assert.equal(p.tsm.tdis.get(rid)?.state, 'RUN');
    assert.ok(p.hw.iommu.secure.has(rid), 'the RMM programmed the trusted DMA context');
    assert.equal(records(w).realms.get(VM)?.mmio.size, pages.length);

    // The Realm writes its data through T=1 MMIO; it reaches the device.
    const secret = new Uint8Array([0xca, 0xfe, 0xf0, 0x0d]);
    const ipa = gfns[0] << 12n;
    const wr = realmAccess(w, ipa, secret);
    assert.equal(wr.result.kind === 'access' && wr.result.access.status, 'SC');
    const { bar, offset } = barOffset(w, pages[0]);
    const before = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: true });
    assert.deepEqual(before.status === 'SC' && [...before.data], [...secret]);

    const stop = await pciTsmStop(m, h, { rid });
    ok(stop);
    assert.ok(calls(stop.events).includes('RMI_VDEV_UNLOCK'));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(p.hw.iommu.secure.has(rid), false, 'UNLOCK disabled DMA');
    noLiveMmio(w);
    // KVM drops what the stop already took back: no firmware call left to make.
    for (const gfn of gfns) {
      const u = await D.unmapPrivateMmio(m, h, { vm: VM, gfn });
      ok(u);
      assert.deepEqual(calls(u.events), []);
    }
    assert.equal(records(w).realms.get(VM)?.mmio.size, 0);
    ok(await pciTsmUnbind(m, h, { rid }));
    assert.equal(p.tsm.tdis.has(rid), false);
    assert.equal(w.vendor.vdevs.size, 0);
    for (const [i] of image.entries()) {
      ok(await D.unmapPrivatePage(m, h, { vm: VM, gfn: IMAGE_GFN + BigInt(i) }));
    }
    assert.equal(ownerOf(p.hw.memory, image[0])?.kind, 'shared');
    ok(await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM }));
    ok(await D.vmDestroy(m, h, VM));

    noLiveMmio(w);
    assert.equal(p.hw.iommu.secure.has(rid), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    const after = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: false });
    assert.ok(after.status === 'SC' && after.data.every((b) => b === 0), 'scrubbed');
    assert.deepEqual({ ...records(w) }, { pdevs: new Map(), vdevs: new Map(), realms: new Map() });
    assert.equal(p.hw.septs.has(VM), false);
  });
});

describe('CCA host driver: the RMM against the host', () => {
  it('unmapping under the running Realm: the page is RIPAS_DESTROYED, the next access aborts', async () => {
    const w = await ccaWorld('cca revoke');
    const { m, h, rid } = w;
    await connectedRealm(w);
    const { gfns } = await toRun(w);
    const ipa = gfns[0] << 12n;
    const u = await D.unmapPrivateMmio(m, h, { vm: VM, gfn: gfns[0] });
    ok(u);
    assert.deepEqual(calls(u.events), ['RMI_VDEV_UNMAP']);
    assert.equal(w.vendor.realms.get(VM)?.ipas.get(ipa)?.ripas, 'RIPAS_DESTROYED');
    const hit = realmAccess(w, ipa);
    assert.deepEqual(hit.result, { kind: 'fatal-abort', ripas: 'RIPAS_DESTROYED' });
    assert.ok(w.vendor.realms.get(VM)?.dead, 'the Realm runs no more');
    // The IPA cannot be given another page behind the dead Realm's back.
    const pa = w.p.tsm.tdis.get(rid)?.report?.ranges.find((r) => !r.nonTee)?.base ?? 0n;
    await refused(w, 'EEXIST', () =>
      D.mapPrivateMmio(m, h, { vm: VM, gfn: gfns[0], pfn: pa >> 12n, rid }),
    );
    // The host still tears down: nothing of the TDI is left.
    ok(await pciTsmStop(m, h, { rid }));
    for (const gfn of gfns.slice(1)) ok(await D.unmapPrivateMmio(m, h, { vm: VM, gfn }));
    ok(await pciTsmUnbind(m, h, { rid }));
    noLiveMmio(w);
    assert.equal(w.p.hw.iommu.secure.has(rid), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
  });

  it('Realm RAM: the image before activation, later pages wait for the Realm; refusals', async () => {
    const w = await ccaWorld('cca realm ram');
    const { m, h, p } = w;
    const image = await connectedRealm(w);
    await refused(w, 'EEXIST', () => D.vmCreate(m, h, VM));
    await refused(w, 'EINVAL', () => D.vmFinalize(m, h, VM));
    await refused(w, 'ENXIO', () => D.vmFinalize(m, h, 'realm9'));
    // The same guest frame twice, or a granule that is already the Realm's.
    await refused(w, 'EEXIST', () =>
      D.mapPrivatePage(m, h, { vm: VM, gfn: IMAGE_GFN, hpfn: image[1] + 1n }),
    );
    await refused(w, 'EINVAL', () =>
      D.mapPrivatePage(m, h, { vm: VM, gfn: IMAGE_GFN + 2n, hpfn: image[0] }),
    );
    const gfn = IMAGE_GFN + 2n;
    const add = await D.mapPrivatePage(m, h, { vm: VM, gfn, hpfn: image[1] + 1n });
    ok(add);
    assert.deepEqual(calls(add.events), ['RMI_DATA_CREATE_UNKNOWN']);
    assert.equal(p.hw.septs.get(VM)?.entries[Number(gfn)]?.state, 'pending');
    const ram = {
      realm: VM,
      ipaBase: gfn << 12n,
      ipaTop: (gfn + 1n) << 12n,
      ripas: 'RIPAS_RAM' as const,
    };
    assert.equal((await rsiOk(G.RSI_IPA_STATE_SET(p, w.env, ram))).response, 'RSI_ACCEPT');
    assert.equal(p.hw.septs.get(VM)?.entries[Number(gfn)]?.state, 'present');
    // A Realm with pages left is still in use; a page never mapped cannot be taken back.
    await refused(w, 'EBUSY', () => D.vmDestroy(m, h, VM));
    await refused(w, 'EINVAL', () => D.unmapPrivatePage(m, h, { vm: VM, gfn: gfn + 1n }));
    for (const g of [IMAGE_GFN, IMAGE_GFN + 1n, gfn]) {
      ok(await D.unmapPrivatePage(m, h, { vm: VM, gfn: g }));
    }
    assert.equal(records(w).realms.get(VM)?.data.size, 0);
    ok(await D.vmDestroy(m, h, VM));
    assert.equal(records(w).realms.size, 0);
  });

  it('bind, unbind and teardown refusals change nothing', async () => {
    const w = await ccaWorld('cca bind errors');
    const { m, h, rid, dsm } = w;
    const bind =
      (vm: string, vdevId = VDEV_ID) =>
      () =>
        pciTsmBind(m, h, { rid, vm, vdevId });
    await refused(w, 'ENXIO', bind(VM));
    await connectedRealm(w);
    // No such Realm: RMI_VDEV_CREATE's RMI_ERROR_INPUT.
    const noRealm = await refused(w, 'EINVAL', bind('realm9'));
    assert.deepEqual(calls(noRealm.events), ['RMI_VDEV_CREATE']);
    // A second function of the device with the vdev_id already used in the Realm.
    ok(await bind(VM)());
    const other = w.m.functions().find((f) => f !== rid && f !== dsm && f >>> 8 === dsm >>> 8);
    if (other !== undefined) {
      await refused(w, 'EINVAL', () => pciTsmBind(m, h, { rid: other, vm: VM, vdevId: VDEV_ID }));
    }
    await refused(w, 'EBUSY', bind(VM));
    // Unbind of a locked VDEV, destroying the Realm under its VDEV: still in use.
    await refused(w, 'EBUSY', () => pciTsmUnbind(m, h, { rid }));
    await refused(w, 'EBUSY', () => D.vmDestroy(m, h, VM));
    // DMA has nothing to enable for a TDI the driver never bound.
    await refused(w, 'ENXIO', () => D.enableTrustedDma(m, h, { rid: dsm }));
    ok(await pciTsmStop(m, h, { rid }));
    // Stop twice is a no-op; DMA cannot be enabled for an unlocked VDEV.
    ok(await pciTsmStop(m, h, { rid }));
    await refused(w, 'EINVAL', () => D.enableTrustedDma(m, h, { rid }));
    ok(await pciTsmUnbind(m, h, { rid }));
  });

  it('private MMIO for a TDI bound to another Realm is refused', async () => {
    const w = await ccaWorld('cca other realm');
    const { m, h, rid } = w;
    await connectedRealm(w);
    ok(await pciTsmBind(m, h, { rid, vm: VM, vdevId: VDEV_ID }));
    ok(await guestReq(w, { scope: 'info', message: { name: 'RHI_DA_VDEV_GET_INTERFACE_REPORT' } }));
    ok(await D.vmCreate(m, h, 'realm2'));
    ok(await D.vmFinalize(m, h, 'realm2'));
    const pa = w.p.tsm.tdis.get(rid)?.report?.ranges.find((r) => !r.nonTee)?.base ?? 0n;
    const o = await refused(w, 'EINVAL', () =>
      D.mapPrivateMmio(m, h, { vm: 'realm2', gfn: 0x40000n, pfn: pa >> 12n, rid }),
    );
    assert.ok(o.events.some((e) => 'status' in e && e.status === 'RMI_ERROR_INPUT'));
    // The Realm's own requests: another VM may not ask, nor ask outside its scope.
    await refused(w, 'EPERM', () =>
      guestReq(
        w,
        { scope: 'info', message: { name: 'RHI_DA_VDEV_GET_INTERFACE_REPORT' } },
        'realm2',
      ),
    );
    await refused(w, 'EINVAL', () =>
      guestReq(w, {
        scope: 'info',
        message: { name: 'RHI_DA_VDEV_SET_TDI_STATE', tdiState: 'RHI_DA_TDI_CONFIG_RUN' },
      }),
    );
    await refused(w, 'EINVAL', () =>
      guestReq(w, {
        scope: 'state-change',
        message: { name: 'RHI_DA_VDEV_SET_TDI_STATE', tdiState: 'RHI_DA_TDI_CONFIG_UNLOCKED' },
      }),
    );
    await refused(w, 'EOPNOTSUPP', () =>
      guestReq(w, { scope: 'debug-read', message: { name: 'RHI_DA_VDEV_ABORT' } }),
    );
    await refused(w, 'ENOENT', () =>
      guestReq(w, {
        scope: 'info',
        message: { name: 'RHI_DA_OBJECT_SIZE', objectType: 'RHI_DA_OBJECT_MEASUREMENT' },
      }),
    );
    // The certificate chain the host cached is the one the RMM measured.
    const cert = ok(
      await guestReq(w, {
        scope: 'info',
        message: { name: 'RHI_DA_OBJECT_SIZE', objectType: 'RHI_DA_OBJECT_CERTIFICATE' },
      }),
    ) as { size: number };
    assert.equal(cert.size, records(w).pdevs.get(w.dsm)?.certChain.length);
    const info = await rsiOk(
      G.RSI_VDEV_GET_INFO(w.p, w.env, { realm: VM, vdevId: BigInt(VDEV_ID) }),
    );
    assert.ok(info.certDigest);
  });
});
