/**
 * A confidential guest's 4-byte private MMIO read (accesses/s): GPA -> the VM's secure EPT ->
 * the TDI's BAR page, the IDE stream Secure at the root port and at the device, the TDI in RUN
 * in the TSM's view, then the device's own T=1 policy and BAR read (the real device in RUN,
 * test/platform/harness.ts). Kept out of platform-dma so `npm run bench -- dma` runs DMA alone.
 */
import { guestMmioRead } from '../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../src/platform/ids.ts';
import { MMIO_GFN, type Rig, rig, VM } from '../test/platform/harness.ts';
import type { BenchCase } from './harness.ts';

const BATCH = 100;
const gpa = (MMIO_GFN << PAGE_SHIFT) + 0x40n;

let ready: Promise<Rig> | undefined;
let r: Rig | undefined;

export const cases: BenchCase[] = [
  {
    group: 'platform-mmio',
    name: 'guest private MMIO read 4 B (T=1 via secure EPT)',
    items: BATCH,
    before: async () => {
      ready ??= rig('bench-platform-mmio').then(async (x) => {
        await x.start();
        return x;
      });
      r = await ready;
    },
    fn: () => {
      const x = r!;
      for (let i = 0; i < BATCH; i++) {
        const o = guestMmioRead(x.hw, x.bus, x.views, VM, gpa, 4);
        if (o.result.status !== 'SC') throw new Error(`MMIO ${JSON.stringify(o.events)}`);
      }
    },
  },
];
