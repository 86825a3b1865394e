/**
 * Device memory in a Realm's RTT (RMM specification 1.1: RMI_VDEV_MAP / RMI_VDEV_UNMAP,
 * RSI_VDEV_VALIDATE_MAPPING, RIPAS): a page is mapped only for the Realm's own locked VDEV and
 * inside a TEE range of its report, is usable only after the Realm validated it, and a Host
 * that unmaps it under the running Realm turns it RIPAS_DESTROYED: the Realm's next access is
 * a fatal abort, and the Realm is dead before the fabric sees anything.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { realmMmioAccess } from '../../../src/platform/cca/guest-abi.ts';
import { pfnValues } from '../../../src/platform/pfn-table.ts';
import {
  G,
  H,
  ok,
  pdevReady,
  refused,
  routeBars,
  teePage,
  vdevLockedReported,
  vdevUnlocked,
  type World,
  world,
} from './world.ts';

const IPA = 0x4000_0000n;

async function locked(seed: string) {
  const w = await world(seed);
  await pdevReady(w);
  await vdevUnlocked(w);
  const ref = { rd: w.rd, pdev: w.pdev, vdev: w.tdi.requesterId };
  return { ...w, ref };
}

async function attest(w: World) {
  const info = await ok(G.RSI_VDEV_GET_INFO(w.p, w.env, { realm: w.rd, vdevId: w.vdevId }));
  return { lockNonce: info.lockNonce, measNonce: info.measNonce, reportNonce: info.reportNonce };
}

describe('RMI_VDEV_MAP / RSI_VDEV_VALIDATE_MAPPING', () => {
  it('maps only an active Realm’s locked VDEV, inside the report, once per IPA', async () => {
    const w = await locked('map');
    const { p, env, rd, ref } = w;
    const vdev = ref.vdev;
    await refused(p, 'RMI_ERROR_REALM', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA, pa: 0x1000n }),
    );
    await ok(H.RMI_REALM_ACTIVATE(p, env, { rd }));
    await refused(p, 'RMI_ERROR_DEVICE', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA, pa: 0x1000n }),
    );
    await vdevLockedReported(w);
    const pa = teePage(w);
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA + 8n, pa }),
    );
    await ok(H.RMI_REALM_CREATE(p, env, { rd: 'realm2' }));
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_VDEV_MAP(p, env, { rd: 'realm2', vdev, ipa: IPA, pa }),
    );
    // A page in no range of the report: the core refuses, the secure stage 2 stays empty.
    const outside = await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA, pa: pa + (1n << 40n) }),
    );
    assert.match(outside.detail ?? '', /no TEE range/);
    await ok(H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA, pa }));
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_EMPTY');
    await refused(p, 'RMI_ERROR_RTT', () => H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA, pa }));
    await refused(p, 'RMI_ERROR_RTT', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA + 0x1000n, pa }),
    );
    await refused(p, 'RMI_ERROR_RTT', () => H.RMI_VDEV_UNMAP(p, env, { rd, ipa: IPA + 0x1000n }));
    // Mapped but never validated: unmapping gives the IPA back, RIPAS_EMPTY, and it maps again.
    await ok(H.RMI_VDEV_UNMAP(p, env, { rd, ipa: IPA }));
    assert.equal(p.vendor.realms.get(rd)?.ipas.has(IPA), false);
    await ok(H.RMI_VDEV_MAP(p, env, { rd, vdev, ipa: IPA, pa }));
  });

  it('validation checks the range, the PA and the attested nonces', async () => {
    const w = await locked('validate');
    const { p, env, rd, vdevId, ref, carrier } = w;
    await ok(H.RMI_REALM_ACTIVATE(p, env, { rd }));
    const v = { realm: rd, vdevId, ipaBase: IPA, ipaTop: IPA + 0x1000n, paBase: 0n };
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, lockNonce: 0n, measNonce: 0n, reportNonce: 0n }),
    );
    await vdevLockedReported(w);
    const pa = teePage(w);
    await ok(H.RMI_VDEV_MAP(p, env, { rd, vdev: ref.vdev, ipa: IPA, pa }));
    const a = await attest(w);
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, ...a, paBase: pa, ipaTop: IPA }),
    );
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, ...a, paBase: pa + 4n }),
    );
    await refused(p, 'RSI_ERROR_DEVICE', () =>
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, ...a, paBase: pa, reportNonce: 9n }),
    );
    // The Host mapped pa at IPA; the Realm expected pa + one page: rejected, nothing validated.
    const wrong = await ok(
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, ...a, paBase: pa + 0x1000n }),
    );
    assert.deepEqual(wrong, { newIpaBase: IPA, response: 'RSI_REJECT' });
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_EMPTY');
    // Two pages asked, one mapped: the first is validated, the walk stops at the second.
    const part = await ok(
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, ...a, paBase: pa, ipaTop: IPA + 0x2000n }),
    );
    assert.deepEqual(part, { newIpaBase: IPA + 0x1000n, response: 'RSI_REJECT' });
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_DEV');
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n)]?.state, 'present');
    // A re-fetched report makes the Realm's nonces stale.
    await ok(H.RMI_VDEV_GET_INTERFACE_REPORT(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await refused(p, 'RSI_ERROR_DEVICE', () =>
      G.RSI_VDEV_VALIDATE_MAPPING(p, env, { ...v, ...a, paBase: pa }),
    );
  });
});

describe('RMI_VDEV_UNMAP under a running Realm', () => {
  it('the page becomes RIPAS_DESTROYED and the Realm’s next access is a fatal abort', async () => {
    const w = await locked('unmap');
    const { p, env, rd, vdevId, ref, carrier, views, events } = w;
    const bus = routeBars(w);
    await ok(H.RMI_REALM_ACTIVATE(p, env, { rd }));
    await vdevLockedReported(w);
    const pa = teePage(w);
    await ok(H.RMI_VDEV_MAP(p, env, { rd, vdev: ref.vdev, ipa: IPA, pa }));
    const a = await attest(w);
    // Not validated yet: the access is refused by the secure stage 2, and is not fatal.
    const early = realmMmioAccess(p, bus, views, { realm: rd, ipa: IPA, size: 4 });
    assert.equal(early.result.kind, 'access');
    assert.notEqual(early.result.kind === 'access' && early.result.access.status, 'SC');
    const v = { realm: rd, vdevId, ipaBase: IPA, ipaTop: IPA + 0x1000n, paBase: pa, ...a };
    assert.equal((await ok(G.RSI_VDEV_VALIDATE_MAPPING(p, env, v))).response, 'RSI_ACCEPT');
    await ok(H.RMI_VDEV_START(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    await ok(G.RSI_VDEV_DMA_ENABLE(p, env, { realm: rd, vdevId, ...a }));
    const run = realmMmioAccess(p, bus, views, { realm: rd, ipa: IPA, size: 4 });
    assert.equal(run.result.kind === 'access' && run.result.access.status, 'SC');

    // UNLOCK is refused while the page is mapped; the Host unmaps under the running Realm.
    await refused(p, 'RMI_ERROR_DEVICE', () => H.RMI_VDEV_UNLOCK(p, env, ref));
    await ok(H.RMI_VDEV_UNMAP(p, env, { rd, ipa: IPA }));
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_DESTROYED');
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n)]?.state, 'removed');
    assert.equal(p.tsm.tdis.get(ref.vdev)?.mmio.size, 0);
    // The IPA cannot be given a new page behind the Realm's back.
    await refused(p, 'RMI_ERROR_RTT', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev: ref.vdev, ipa: IPA, pa }),
    );

    const seen = events.length;
    const hit = realmMmioAccess(p, bus, views, { realm: rd, ipa: IPA + 4n, size: 4 });
    assert.deepEqual(hit.result, { kind: 'fatal-abort', ripas: 'RIPAS_DESTROYED' });
    assert.deepEqual(hit.events, [
      { kind: 'realm-abort', realm: rd, ipa: IPA + 4n, ripas: 'RIPAS_DESTROYED', fatal: true },
    ]);
    assert.equal(events.length, seen, 'the access never left the CPU');
    assert.deepEqual(p.vendor.realms.get(rd)?.dead, { ipa: IPA + 4n, ripas: 'RIPAS_DESTROYED' });
    // A dead Realm runs nothing: no access, no RSI.
    const after = realmMmioAccess(p, bus, views, {
      realm: rd,
      ipa: 0x10n,
      data: new Uint8Array(4),
    });
    assert.deepEqual(after.result, { kind: 'realm-dead' });
    await refused(p, 'RSI_ERROR_STATE', () => G.RSI_VDEV_GET_INFO(p, env, { realm: rd, vdevId }));

    // The Host still tears down: UNLOCK, then nothing private of the TDI is left.
    await ok(H.RMI_VDEV_UNLOCK(p, env, ref));
    await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
    assert.equal(p.hw.iommu.secure.has(ref.vdev), false);
    const t = p.tsm.tdis.get(ref.vdev);
    assert.equal(t?.state, 'CONFIG_UNLOCKED');
    assert.equal(t?.nonce, undefined);
    for (const e of pfnValues(p.hw.septs.get(rd)?.entries ?? {})) {
      assert.ok(e.target.kind !== 'mmio' || e.state === 'removed', 'no live MMIO entry');
    }
    await ok(H.RMI_VDEV_DESTROY(p, env, ref));
  });
});

describe('RSI_IPA_STATE_SET to RIPAS_EMPTY: the Realm gives device memory up', () => {
  it('a destroyed page changes only with RSI_CHANGE_DESTROYED; then the IPA maps again', async () => {
    const w = await locked('give-up');
    const { p, env, rd, vdevId, ref } = w;
    await ok(H.RMI_REALM_ACTIVATE(p, env, { rd }));
    await vdevLockedReported(w);
    const pa = teePage(w);
    await ok(H.RMI_VDEV_MAP(p, env, { rd, vdev: ref.vdev, ipa: IPA, pa }));
    const a = await attest(w);
    const v = { realm: rd, vdevId, ipaBase: IPA, ipaTop: IPA + 0x1000n, paBase: pa, ...a };
    await ok(G.RSI_VDEV_VALIDATE_MAPPING(p, env, v));
    const range = { realm: rd, ipaBase: IPA, ipaTop: IPA + 0x2000n };
    const empty = { ...range, ripas: 'RIPAS_EMPTY' as const };
    // Validated and still mapped: the Realm unlocks first.
    const live = await ok(G.RSI_IPA_STATE_SET(p, env, { ...empty, flags: 'RSI_CHANGE_DESTROYED' }));
    assert.deepEqual(live, { newIpaBase: IPA, response: 'RSI_REJECT' });
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_DEV');

    await ok(H.RMI_VDEV_UNMAP(p, env, { rd, ipa: IPA }));
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_DESTROYED');
    // Without the flag the destroyed page stays: the Realm has not said it is done with it.
    const kept = await ok(G.RSI_IPA_STATE_SET(p, env, empty));
    assert.deepEqual(kept, { newIpaBase: IPA, response: 'RSI_REJECT' });
    await refused(p, 'RMI_ERROR_RTT', () =>
      H.RMI_VDEV_MAP(p, env, { rd, vdev: ref.vdev, ipa: IPA, pa }),
    );
    // With it, the destroyed page and the never-mapped one after it are both EMPTY.
    const gone = await ok(G.RSI_IPA_STATE_SET(p, env, { ...empty, flags: 'RSI_CHANGE_DESTROYED' }));
    assert.deepEqual(gone, { newIpaBase: IPA + 0x2000n, response: 'RSI_ACCEPT' });
    assert.equal(p.vendor.realms.get(rd)?.ipas.has(IPA), false);
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n)], undefined);
    assert.equal(p.vendor.realms.get(rd)?.dead, undefined, 'the Realm is alive');
    // The Host may map the IPA again; the Realm validates it as new.
    await ok(H.RMI_VDEV_MAP(p, env, { rd, vdev: ref.vdev, ipa: IPA, pa }));
    assert.equal(p.vendor.realms.get(rd)?.ipas.get(IPA)?.ripas, 'RIPAS_EMPTY');
    // Bad input: an unknown flag or RIPAS, and RAM is not device memory.
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_IPA_STATE_SET(p, env, { ...empty, flags: 'RSI_MAYBE' as never }),
    );
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_IPA_STATE_SET(p, env, { ...range, ripas: 'RIPAS_DEV' as never }),
    );
  });
});
