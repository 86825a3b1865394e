/**
 * The fabric (platform/fabric.ts) against the real TDISP device brought to CONFIG_LOCKED and
 * RUN by the TSM's bind steps (harness.ts): T=1 DMA and MMIO that succeed, and every refusal
 * with the event that says why: T=1 MMIO and DMA of a TDI outside RUN, DMA into a page of
 * another VM, a stream not Secure at the root port or at the device, the host mapping private
 * memory or touching a private BAR page. A refused DMA leaves memory unchanged; a refused MMIO
 * read returns all-ones and a refused write never reaches the device.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  fabricDmaWrite,
  guestMmioRead,
  guestMmioWrite,
  hostMmioRead,
  hostMmioWrite,
} from '../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { iommuAttach, iommuDomainAlloc, iommuMap } from '../../src/platform/iommu.ts';
import { assignPrivate, pageOwner, readPhys } from '../../src/platform/memory.ts';
import { rootPortKeySetStop } from '../../src/platform/root-port.ts';
import { septAccept, septAdd } from '../../src/platform/sept.ts';
import { sharedEptMap } from '../../src/platform/shared-ept.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import {
  MMIO_GFN,
  OTHER_VM,
  PRIVATE_GFN,
  type Rig,
  rig,
  SHARED_PAGE,
  STREAM,
  TD1_PAGE,
  TD2_PAGE,
  VM,
} from './harness.ts';

const open: Rig[] = [];
after(async () => {
  for (const r of open) await r.close();
});
async function setup(seed: string): Promise<Rig> {
  const r = await rig(seed);
  open.push(r);
  return r;
}

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff || 1);
const ONES4 = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
const privateGpa = (off: number) => (PRIVATE_GFN << PAGE_SHIFT) + BigInt(off);
const mmioGpa = (off: number) => (MMIO_GFN << PAGE_SHIFT) + BigInt(off);

/** The last event, checked to be the transaction of `want`'s shape. */
function lastTransaction(r: Rig) {
  const e = r.events.at(-1);
  assert.ok(e && e.kind === 'transaction', `a transaction event, got ${JSON.stringify(e?.kind)}`);
  return e;
}

describe('platform/fabric with the TDISP device', () => {
  it('routes a RUN TDI: T=1 DMA lands in its VM private page, T=1 MMIO reaches its BAR', async () => {
    const r = await setup('fabric-run');
    await r.start();
    const data = bytes(256, 3);
    const w = r.dev.device.dmaWrite(r.fn, privateGpa(0x10), data);
    assert.deepEqual(w, { issued: true, t: true, status: 'SC' });
    assert.deepEqual(lastTransaction(r), {
      kind: 'transaction',
      domain: 'device',
      request: 'MemWr',
      t: true,
      address: privateGpa(0x10),
      length: 256,
      rid: r.rid,
      vm: VM,
      stream: STREAM,
      verdict: 'SC',
    });
    assert.deepEqual(readPhys(r.hw.memory, (TD1_PAGE << PAGE_SHIFT) + 0x10n, 256), data);
    assert.deepEqual(r.dev.device.dmaRead(r.fn, privateGpa(0x10), 256), {
      issued: true,
      t: true,
      status: 'SC',
      data,
    });

    const reg = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    const gw = guestMmioWrite(r.hw, r.bus, r.views, VM, mmioGpa(0x40), reg);
    assert.deepEqual(gw.result, { status: 'SC' });
    assert.deepEqual(gw.events[0], {
      kind: 'transaction',
      domain: 'guest',
      request: 'MemWr',
      t: true,
      address: mmioGpa(0x40),
      length: 4,
      rid: r.rid,
      vm: VM,
      stream: STREAM,
      verdict: 'SC',
    });
    // What the device holds, read past the fabric on the device's own port.
    assert.deepEqual(r.dev.host.mmioRead(r.fn, 0, 0x40, 4, { t: true }), {
      status: 'SC',
      data: reg,
    });
    assert.deepEqual(guestMmioRead(r.hw, r.bus, r.views, VM, mmioGpa(0x40), 4).result, {
      status: 'SC',
      data: reg,
    });
  });

  it('refuses T=1 MMIO to a TDI outside RUN: reads all-ones, the write never lands', async () => {
    const r = await setup('fabric-mmio-locked');
    const rd = guestMmioRead(r.hw, r.bus, r.views, VM, mmioGpa(0x40), 4);
    assert.deepEqual(rd.result, { status: 'CA', data: ONES4 });
    assert.equal(rd.events[0].kind === 'transaction' && rd.events[0].reason, 'tdi-not-run');
    const wr = guestMmioWrite(r.hw, r.bus, r.views, VM, mmioGpa(0x40), Uint8Array.of(1, 2, 3, 4));
    assert.deepEqual(wr.result, { status: 'CA' });
    assert.equal(wr.events[0].kind === 'transaction' && wr.events[0].reason, 'tdi-not-run');
    await r.start();
    assert.deepEqual(guestMmioRead(r.hw, r.bus, r.views, VM, mmioGpa(0x40), 4).result, {
      status: 'SC',
      data: new Uint8Array(4),
    });
  });

  it('refuses DMA by a TDI outside RUN: the device sends T=0, a forged T=1 is a CA', async () => {
    const r = await setup('fabric-dma-locked');
    const before = canonicalHash(r.hw);
    const w = r.dev.device.dmaWrite(r.fn, privateGpa(0), bytes(64, 1));
    assert.deepEqual(w, { issued: true, t: false, status: 'UR' });
    assert.equal(lastTransaction(r).reason, 'no-iommu-domain');
    const forged = fabricDmaWrite(r.hw, r.views, {
      requesterId: r.rid,
      address: privateGpa(0),
      data: bytes(64, 1),
      t: true,
    });
    assert.equal(forged.result, 'CA');
    assert.deepEqual(forged.events, [
      {
        kind: 'transaction',
        domain: 'device',
        request: 'MemWr',
        t: true,
        address: privateGpa(0),
        length: 64,
        rid: r.rid,
        vm: VM,
        stream: STREAM,
        verdict: 'CA',
        reason: 'tdi-not-run',
      },
    ]);
    assert.equal(canonicalHash(r.hw), before, 'no byte written, no state changed');
  });

  it("refuses T=1 DMA into a page owned by another VM or shared, even when td1's table maps it", async () => {
    const r = await setup('fabric-other-vm');
    await r.start();
    const sept = r.hw.septs.get(VM)!;
    septAdd(sept, 0x101n, { kind: 'memory', hpfn: TD2_PAGE });
    septAccept(sept, 0x101n);
    septAdd(sept, 0x102n, { kind: 'memory', hpfn: SHARED_PAGE });
    septAccept(sept, 0x102n);
    const mem = canonicalHash(r.hw.memory);
    for (const gfn of [0x101n, 0x102n]) {
      const w = r.dev.device.dmaWrite(r.fn, gfn << PAGE_SHIFT, bytes(32, 9));
      assert.deepEqual(w, { issued: true, t: true, status: 'CA' });
      assert.equal(lastTransaction(r).reason, 'page-not-private-to-vm');
    }
    // A write spanning td1's page and td2's: refused whole, not even the first part lands.
    const span = r.dev.device.dmaWrite(r.fn, privateGpa(4096 - 16), bytes(32, 5));
    assert.deepEqual(span, { issued: true, t: true, status: 'CA' });
    assert.equal(canonicalHash(r.hw.memory), mem);
    assert.equal(
      pageOwner(r.hw.memory, Number(TD2_PAGE))?.kind === 'private' && OTHER_VM,
      OTHER_VM,
    );
  });

  it('refuses T=1 on a stream the root port no longer has Secure', async () => {
    const r = await setup('fabric-rp-insecure');
    await r.start();
    assert.equal(rootPortKeySetStop(r.hw.rootPort, STREAM, r.keys[4]).result.ok, true);
    assert.equal(r.dev.device.streamState(STREAM), 'Secure', 'the device end is still Secure');
    const mem = canonicalHash(r.hw.memory);
    const w = r.dev.device.dmaWrite(r.fn, privateGpa(0), bytes(16, 2));
    assert.deepEqual(w, { issued: true, t: true, status: 'UR' });
    assert.equal(lastTransaction(r).reason, 'ide-stream-insecure-root-port');
    const rd = guestMmioRead(r.hw, r.bus, r.views, VM, mmioGpa(0), 4);
    assert.deepEqual(rd.result, { status: 'UR', data: ONES4 });
    assert.equal(
      rd.events[0].kind === 'transaction' && rd.events[0].reason,
      'ide-stream-insecure-root-port',
    );
    assert.equal(canonicalHash(r.hw.memory), mem);
  });

  it("refuses T=1 on a stream the device no longer has Secure (link down), whatever the TSM's view", async () => {
    const r = await setup('fabric-dev-insecure');
    await r.start();
    r.dev.device.linkDown();
    assert.equal(r.dev.device.streamState(STREAM), 'Insecure');
    assert.equal(r.views.tdiRunning(r.rid), true, 'the TSM has not noticed yet');
    const mem = canonicalHash(r.hw.memory);
    const forged = fabricDmaWrite(r.hw, r.views, {
      requesterId: r.rid,
      address: privateGpa(0),
      data: bytes(16, 4),
      t: true,
    });
    assert.equal(forged.result, 'UR');
    assert.equal(
      forged.events[0].kind === 'transaction' && forged.events[0].reason,
      'ide-stream-insecure-device',
    );
    const rd = guestMmioRead(r.hw, r.bus, r.views, VM, mmioGpa(0), 4);
    assert.deepEqual(rd.result, { status: 'UR', data: ONES4 });
    assert.equal(
      rd.events[0].kind === 'transaction' && rd.events[0].reason,
      'ide-stream-insecure-device',
    );
    assert.equal(canonicalHash(r.hw.memory), mem);
  });

  it('keeps the host out of private memory: no IOMMU map of it, and T=0 DMA stops when a mapped page turns private', async () => {
    const r = await setup('fabric-host-map');
    const io = r.hw.iommu;
    const { result } = iommuDomainAlloc(io);
    assert.ok(result.ok);
    iommuAttach(io, r.rid, result.domain);
    const before = canonicalHash(r.hw);
    const bad = iommuMap(io, r.hw.memory, result.domain, 0x50n, TD1_PAGE, true);
    assert.equal(bad.result.ok, false);
    assert.deepEqual(bad.events, [
      {
        kind: 'refused',
        op: 'iommu_map',
        error: 'EPERM',
        reason: `page 0x${TD1_PAGE.toString(16)} is private to td1: the host maps only shared memory`,
      },
    ]);
    assert.equal(canonicalHash(r.hw), before);

    assert.equal(
      iommuMap(io, r.hw.memory, result.domain, 0x60n, SHARED_PAGE, true).result.ok,
      true,
    );
    const data = bytes(8, 6);
    assert.deepEqual(r.dev.device.dmaWrite(r.fn, 0x60000n, data), {
      issued: true,
      t: false,
      status: 'SC',
    });
    assert.deepEqual(readPhys(r.hw.memory, SHARED_PAGE << PAGE_SHIFT, 8), data);
    assignPrivate(r.hw.memory, SHARED_PAGE, VM);
    const mem = canonicalHash(r.hw.memory);
    assert.deepEqual(r.dev.device.dmaWrite(r.fn, 0x60000n, bytes(8, 7)), {
      issued: true,
      t: false,
      status: 'CA',
    });
    assert.equal(lastTransaction(r).reason, 'private-page-untrusted-dma');
    assert.equal(canonicalHash(r.hw.memory), mem);
  });

  it('refuses host MMIO to a private BAR page (all-ones, write dropped) and routes the rest', async () => {
    const r = await setup('fabric-host-mmio');
    const at = r.bar0.base + 0x40n;
    const rd = hostMmioRead(r.hw, r.bus, at, 4);
    assert.deepEqual(rd.result, { status: 'CA', data: ONES4 });
    assert.deepEqual(rd.events, [
      {
        kind: 'transaction',
        domain: 'host',
        request: 'MemRd',
        t: false,
        address: at,
        length: 4,
        rid: r.rid,
        verdict: 'CA',
        reason: 'private-bar-page',
      },
    ]);
    const wr = hostMmioWrite(r.hw, r.bus, at, Uint8Array.of(9, 9, 9, 9));
    assert.deepEqual(wr.result, { status: 'CA' });
    await r.start();
    assert.deepEqual(r.dev.host.mmioRead(r.fn, 0, 0x40, 4, { t: true }), {
      status: 'SC',
      data: new Uint8Array(4),
    });

    // PF0 is not a TDI and nothing maps its BARs privately: the host reaches them.
    const pf = r.hw.fabric.bars.get(`${r.dev.device.requesterId(0)}:2`)!;
    const v = Uint8Array.of(1, 2, 3, 4);
    assert.deepEqual(hostMmioWrite(r.hw, r.bus, pf.base + 8n, v).result, { status: 'SC' });
    assert.deepEqual(hostMmioRead(r.hw, r.bus, pf.base + 8n, 4).result, { status: 'SC', data: v });
    const nowhere = hostMmioRead(r.hw, r.bus, 0x10n, 4);
    assert.deepEqual(nowhere.result, { status: 'UR', data: ONES4 });
    assert.equal(nowhere.events[0].kind === 'transaction' && nowhere.events[0].reason, 'no-bar');
  });

  it("routes a guest's shared GPA through its shared EPT with T=0, never onto a private BAR page", async () => {
    const r = await setup('fabric-shared-gpa');
    const shared = 1n << 47n;
    const pf = r.hw.fabric.bars.get(`${r.dev.device.requesterId(0)}:2`)!;
    sharedEptMap(r.hw.sharedEpts, VM, 0x300n, pf.base >> PAGE_SHIFT);
    sharedEptMap(r.hw.sharedEpts, VM, 0x301n, r.bar0.base >> PAGE_SHIFT);
    const v = Uint8Array.of(5, 6, 7, 8);
    assert.deepEqual(guestMmioWrite(r.hw, r.bus, r.views, VM, shared | 0x300010n, v).result, {
      status: 'SC',
    });
    const ok = guestMmioRead(r.hw, r.bus, r.views, VM, shared | 0x300010n, 4);
    assert.deepEqual(ok.result, { status: 'SC', data: v });
    assert.equal(ok.events[0].kind === 'transaction' && ok.events[0].t, false);
    const priv = guestMmioRead(r.hw, r.bus, r.views, VM, shared | 0x301000n, 4);
    assert.deepEqual(priv.result, { status: 'CA', data: ONES4 });
    assert.equal(
      priv.events[0].kind === 'transaction' && priv.events[0].reason,
      'private-bar-page',
    );
    const none = guestMmioRead(r.hw, r.bus, r.views, VM, shared | 0x302000n, 4);
    assert.equal(
      none.events[0].kind === 'transaction' && none.events[0].reason,
      'shared-ept-not-mapped',
    );
  });
});
