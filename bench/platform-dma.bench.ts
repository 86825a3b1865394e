/**
 * A device's 4 KiB DMA write into a confidential VM's private memory through the whole
 * platform path (device.dmaWrite -> UpstreamPort -> fabric: root-port and device stream
 * state, trusted DMA context, the TSM's RUN view, the secure EPT walk, the page owner check,
 * the page copy), against a bare 4 KiB Buffer copy in the same run. The device is the real
 * one in RUN (test/platform/harness.ts). Batches of 100 so per-call timer overhead is small.
 */
import { randomBytes } from 'node:crypto';
import { PAGE_SHIFT } from '../src/platform/ids.ts';
import { PRIVATE_GFN, type Rig, rig } from '../test/platform/harness.ts';
import type { BenchCase, BenchRatio } from './harness.ts';

const BATCH = 100;
const data = new Uint8Array(randomBytes(4096));
const src = Buffer.from(data);
const dst = Buffer.alloc(4096);
const gpa = PRIVATE_GFN << PAGE_SHIFT;

let ready: Promise<Rig> | undefined;
let r: Rig | undefined;
const setup = async () => {
  ready ??= rig('bench-platform-dma').then(async (x) => {
    await x.start();
    return x;
  });
  r = await ready;
};

export const cases: BenchCase[] = [
  {
    group: 'platform-dma',
    name: 'device dmaWrite 4 KiB T=1 into private memory',
    items: BATCH,
    before: setup,
    fn: () => {
      const x = r!;
      for (let i = 0; i < BATCH; i++) {
        const w = x.dev.device.dmaWrite(x.fn, gpa, data);
        if (w.issued !== true || w.status !== 'SC') throw new Error(`DMA ${JSON.stringify(w)}`);
      }
      x.events.length = 0;
    },
  },
  {
    group: 'platform-dma',
    name: 'Buffer copy 4 KiB',
    items: BATCH,
    fn: () => {
      for (let i = 0; i < BATCH; i++) src.copy(dst);
    },
  },
];

export const ratios: BenchRatio[] = [
  {
    name: 'platform DMA 4 KiB / bare copy',
    numerator: 'platform-dma/device dmaWrite 4 KiB T=1 into private memory',
    denominator: 'platform-dma/Buffer copy 4 KiB',
    target: 1.5,
  },
];
