/**
 * The dma-buf core over VFIO's BAR exports: attach, map, mmap, the importer's pfns under both
 * answers of switch 7, revoke (move_notify to every mapped importer) and restore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dmaBufAttach,
  dmaBufDetach,
  dmaBufKvmPfns,
  dmaBufMapAttachment,
  dmaBufMmap,
  dmaBufRestore,
  dmaBufRevoke,
  dmaBufSetPrivate,
  dmaBufUnmapAttachment,
} from '../../src/host/dma-buf/core.ts';
import { vfioOpen } from '../../src/host/vfio/cdev.ts';
import { exportBar, vfioWorld } from './vfio-support.ts';
import { ok, refused } from './world.ts';

const peer = { kind: 'device' as const, rid: 0x200 };

async function setup(dmaBufPfns: 'sg-table' | 'phys-vec' = 'phys-vec') {
  const w = await vfioWorld('tdx', { dmaBufPfns });
  const fd = ok(vfioOpen(w.m, w.h, { rid: w.dsm }));
  const buf = exportBar(w, fd);
  const b = w.h.dmaBufs.bufs.get(buf);
  assert.ok(b);
  return { w, fd, buf, b };
}

describe('dma-buf attach and map', () => {
  it('a peer device attaches and maps the scatterlist of bus addresses; each errno', async () => {
    const { w, buf, b } = await setup();
    const a = { fd: buf, importer: peer };
    await refused(w, 'EBADF', () => dmaBufAttach(w.m, w.h, { ...a, fd: 999 }));
    await refused(w, 'EOPNOTSUPP', () => dmaBufAttach(w.m, w.h, { ...a, peer2peer: false }));
    await refused(w, 'ENOENT', () => dmaBufMapAttachment(w.m, w.h, a));
    ok(dmaBufAttach(w.m, w.h, a));
    await refused(w, 'EEXIST', () => dmaBufAttach(w.m, w.h, a));
    const sg = ok(dmaBufMapAttachment(w.m, w.h, a));
    assert.deepEqual(sg, [{ dmaAddress: b.ranges[0].address, length: 0x2000n }]);
    assert.deepEqual(b.importers, [{ ...peer, mapped: true }]);
    ok(dmaBufUnmapAttachment(w.m, w.h, a));
    await refused(w, 'ENOENT', () => dmaBufUnmapAttachment(w.m, w.h, a));
    ok(dmaBufDetach(w.m, w.h, a));
    await refused(w, 'ENOENT', () => dmaBufDetach(w.m, w.h, a));
    assert.deepEqual(b.importers, []);
  });

  it('a revoked buffer cannot be attached or mapped (ENODEV) until restored', async () => {
    const { w, buf, b } = await setup();
    const a = { fd: buf, importer: peer };
    ok(dmaBufAttach(w.m, w.h, a));
    ok(dmaBufMapAttachment(w.m, w.h, a));
    const r = await dmaBufRevoke(w.m, w.h, { fds: [buf], final: false });
    ok(r);
    assert.equal(b.state, 'revoked');
    // move_notify reached the importer, which unmapped.
    assert.deepEqual(b.importers, [{ ...peer, mapped: false }]);
    await refused(w, 'ENODEV', () => dmaBufMapAttachment(w.m, w.h, a));
    await refused(w, 'ENODEV', () =>
      dmaBufAttach(w.m, w.h, { fd: buf, importer: { kind: 'device', rid: 0x300 } }),
    );
    await refused(w, 'ENODEV', () => dmaBufMmap(w.m, w.h, { fd: buf }));
    dmaBufRestore(w.h, [buf]);
    assert.equal(b.state, 'live');
    ok(dmaBufMapAttachment(w.m, w.h, a));
    // Closed is for good: restore does not bring it back.
    ok(await dmaBufRevoke(w.m, w.h, { fds: [buf], final: true }));
    assert.deepEqual(dmaBufRestore(w.h, [buf]), []);
    assert.equal(b.state, 'closed');
  });

  it('KVM importers get move_notify through KVM (kvm_dmabuf_move_notify in the events)', async () => {
    const { w, buf } = await setup();
    const kvm = { kind: 'kvm' as const, vmFd: 50, slot: 1 };
    ok(dmaBufAttach(w.m, w.h, { fd: buf, importer: kvm }));
    ok(dmaBufKvmPfns(w.m, w.h, { fd: buf, vmFd: 50, slot: 1 }));
    const r = await dmaBufRevoke(w.m, w.h, { fds: [buf], final: false });
    assert.ok(r.events.some((e) => e.kind === 'uapi' && e.op === 'kvm_dmabuf_move_notify'));
  });
});

describe('no mmap of a private exporter; private is KVM only', () => {
  it('dma_buf_mmap: shared gives the bus ranges, private is EINVAL', async () => {
    const { w, buf, b } = await setup();
    assert.deepEqual(ok(dmaBufMmap(w.m, w.h, { fd: buf })), b.ranges);
    await refused(w, 'EBADF', () => dmaBufMmap(w.m, w.h, { fd: 999 }));
    dmaBufSetPrivate(w.h, [buf], true);
    await refused(w, 'EINVAL', () => dmaBufMmap(w.m, w.h, { fd: buf }));
    await refused(w, 'EPERM', () => dmaBufAttach(w.m, w.h, { fd: buf, importer: peer }));
    const kvm = { kind: 'kvm' as const, vmFd: 50, slot: 1 };
    ok(dmaBufAttach(w.m, w.h, { fd: buf, importer: kvm }));
    // A private exporter hands out no scatterlist, to anyone.
    await refused(w, 'EINVAL', () => dmaBufMapAttachment(w.m, w.h, { fd: buf, importer: kvm }));
  });
});

describe('switch 7 (dmaBufPfns): how KVM gets the pfns', () => {
  const slot = { vmFd: 50, slot: 1 };
  const kvm = { kind: 'kvm' as const, ...slot };

  it("'phys-vec': the ranges directly, no mapping; private buffers too", async () => {
    const { w, buf, b } = await setup('phys-vec');
    await refused(w, 'ENOENT', () => dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot }));
    ok(dmaBufAttach(w.m, w.h, { fd: buf, importer: kvm }));
    assert.deepEqual(ok(dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot })), b.ranges);
    assert.equal(b.importers[0].mapped, true);
    dmaBufSetPrivate(w.h, [buf], true);
    assert.deepEqual(ok(dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot })), b.ranges);
    ok(await dmaBufRevoke(w.m, w.h, { fds: [buf], final: false }));
    await refused(w, 'ENODEV', () => dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot }));
    await refused(w, 'EBADF', () => dmaBufKvmPfns(w.m, w.h, { fd: 999, ...slot }));
  });

  it("'sg-table': only through a mapped attachment, and never for a private buffer", async () => {
    const { w, buf, b } = await setup('sg-table');
    ok(dmaBufAttach(w.m, w.h, { fd: buf, importer: kvm }));
    await refused(w, 'EINVAL', () => dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot }));
    ok(dmaBufMapAttachment(w.m, w.h, { fd: buf, importer: kvm }));
    assert.deepEqual(ok(dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot })), b.ranges);
    dmaBufSetPrivate(w.h, [buf], true);
    await refused(w, 'EINVAL', () => dmaBufKvmPfns(w.m, w.h, { fd: buf, ...slot }));
  });
});
