/**
 * Random sequences of VFIO and dma-buf calls on the shared (not TSM-bound) device: a refused
 * call changes no record; a buffer is live exactly while its device has memory enabled in D0
 * (and it is not closed); no importer stays mapped on a revoked buffer; a private buffer is
 * never mmapped or mapped through a scatterlist.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  PCI_CAP_ID_PM,
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_PM_CTRL,
} from '../../src/device/pci/regs.ts';
import {
  dmaBufAttach,
  dmaBufDetach,
  dmaBufMapAttachment,
  dmaBufMmap,
  dmaBufRestore,
  dmaBufRevoke,
  dmaBufSetPrivate,
} from '../../src/host/dma-buf/core.ts';
import type { HostOutcome } from '../../src/host/outcome.ts';
import { vfioOpen } from '../../src/host/vfio/cdev.ts';
import { pciFindCapability } from '../../src/host/vfio/device.ts';
import { O_RDWR, vfioDeviceFeatureDmaBuf } from '../../src/host/vfio/dma-buf-export.ts';
import { vfioConfigWrite, vfioDeviceReset } from '../../src/host/vfio/reset.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import { GET_DMA_BUF, vfioWorld } from './vfio-support.ts';

const cmd = fc.oneof(
  fc.record({ k: fc.constant('export' as const), offset: fc.nat(40), pages: fc.nat(3) }),
  fc.record({ k: fc.constant('mse' as const), on: fc.boolean() }),
  fc.record({ k: fc.constant('power' as const), d3: fc.boolean() }),
  fc.record({ k: fc.constant('reset' as const) }),
  fc.record({ k: fc.constant('attach' as const), buf: fc.nat(4), rid: fc.nat(2) }),
  fc.record({ k: fc.constant('detach' as const), buf: fc.nat(4), rid: fc.nat(2) }),
  fc.record({ k: fc.constant('map' as const), buf: fc.nat(4), rid: fc.nat(2) }),
  fc.record({ k: fc.constant('mmap' as const), buf: fc.nat(4) }),
  fc.record({ k: fc.constant('private' as const), buf: fc.nat(4) }),
);
type Cmd = typeof cmd extends fc.Arbitrary<infer T> ? T : never;

describe('VFIO and dma-buf: random call sequences', () => {
  it('refusals change nothing; liveness follows memory; no mapping outlives a revoke', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 3, maxLength: 25 }), async (cmds) => {
        const w = await vfioWorld('tdx');
        const { m, h, dsm } = w;
        const fd = vfioOpen(m, h, { rid: dsm });
        assert.ok(fd.ok);
        const dev = h.vfio.devices.get(fd.value);
        assert.ok(dev);
        const pm = pciFindCapability(m, dsm, PCI_CAP_ID_PM) ?? 0;
        const cmdReg = m.configRead(dsm, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY;
        const bufs = (): number[] => [...h.dmaBufs.bufs.keys()];
        const pick = (i: number): number => bufs()[i % Math.max(1, bufs().length)] ?? 999;
        const importer = (rid: number) => ({ kind: 'device' as const, rid: 0x200 + rid });
        const run = async (c: Cmd): Promise<HostOutcome<unknown>> => {
          switch (c.k) {
            case 'export':
              return vfioDeviceFeatureDmaBuf(m, h, {
                fd: dev.fd,
                featureFlags: GET_DMA_BUF,
                regionIndex: 0,
                openFlags: O_RDWR,
                flags: 0,
                ranges: [{ offset: BigInt(c.offset) << 12n, length: BigInt(c.pages) << 12n }],
              });
            case 'mse':
              return vfioConfigWrite(m, h, {
                fd: dev.fd,
                offset: PCI_COMMAND,
                size: 2,
                value: c.on ? cmdReg : cmdReg & ~PCI_COMMAND_MEMORY,
              });
            case 'power':
              return vfioConfigWrite(m, h, {
                fd: dev.fd,
                offset: pm + PCI_PM_CTRL,
                size: 2,
                value: c.d3 ? 3 : 0,
              });
            case 'reset':
              return vfioDeviceReset(m, h, { fd: dev.fd });
            case 'attach':
              return dmaBufAttach(m, h, { fd: pick(c.buf), importer: importer(c.rid) });
            case 'detach':
              return dmaBufDetach(m, h, { fd: pick(c.buf), importer: importer(c.rid) });
            case 'map':
              return dmaBufMapAttachment(m, h, { fd: pick(c.buf), importer: importer(c.rid) });
            case 'mmap':
              return dmaBufMmap(m, h, { fd: pick(c.buf) });
            case 'private': {
              // What a TSM bind does to the exporter's buffers (vfio/tsm.ts), without the TSM.
              const fds = [pick(c.buf)];
              const r = await dmaBufRevoke(m, h, { fds, final: false });
              dmaBufSetPrivate(h, fds, true);
              if (dev.memoryEnabled && dev.power === 'D0') dmaBufRestore(h, fds);
              return r;
            }
          }
        };
        for (const [i, c] of cmds.entries()) {
          const before = canonicalHash(h);
          const o = await run(c);
          const why = `step ${i} ${JSON.stringify(c)}`;
          if (!o.ok) assert.equal(canonicalHash(h), before, `${why}: ${o.errno} changed records`);
          if (o.ok && c.k === 'mmap') assert.equal(h.dmaBufs.bufs.get(pick(c.buf))?.private, false);
          if (o.ok && c.k === 'map') assert.equal(h.dmaBufs.bufs.get(pick(c.buf))?.private, false);
          const memory: boolean = dev.memoryEnabled && dev.power === 'D0';
          for (const b of h.dmaBufs.bufs.values()) {
            assert.equal(b.state, memory ? 'live' : 'revoked', `${why}: buffer ${b.fd}`);
            if (b.state !== 'live')
              assert.ok(
                b.importers.every((x) => !x.mapped),
                why,
              );
            if (b.private)
              assert.ok(
                b.importers.every((x) => !x.mapped || x.kind === 'kvm'),
                why,
              );
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
