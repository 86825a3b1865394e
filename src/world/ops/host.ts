/**
 * The untrusted host kernel's operations on the device: the PCI/TSM core's connect and
 * disconnect, and what it can do through VFIO and the fabric to a device it does not own.
 */
import { LINK_TSM, pciTsmConnect, pciTsmDisconnect } from '../../host/pci-tsm/core.ts';
import { vfioMmap } from '../../host/vfio/regions.ts';
import { vfioConfigWrite, vfioDeviceReset } from '../../host/vfio/reset.ts';
import type { StepEvent } from '../invariants.ts';
import { arg, fromHost, refused } from './result.ts';
import type { OpTable } from './types.ts';

const MSE = 0x2;
const PCI_COMMAND = 0x04;

export const HOST_OPS: OpTable = {
  'host.tsm/connect': {
    actor: 'host',
    // One DSM: the device's function 0.
    candidates: () => [{ do: 'host.tsm/connect' }],
    run: async (w) =>
      fromHost(
        await pciTsmConnect(w.m, w.h, { dsm: w.pw.dev.device.requesterId(0), tsm: LINK_TSM }),
      ),
  },
  'host.tsm/disconnect': {
    actor: 'host',
    candidates: () => [{ do: 'host.tsm/disconnect' }],
    run: async (w) =>
      fromHost(
        await pciTsmDisconnect(w.m, w.h, { dsm: w.pw.dev.device.requesterId(0), tsm: LINK_TSM }),
      ),
  },
  'host.mse-clear': {
    actor: 'host',
    run: async (w, step) => {
      const fd = w.vfioFd(undefined, w.tdiFn(step));
      if (fd === undefined)
        return refused('ENODEV', `function ${w.tdiFn(step)} is not opened by VFIO`);
      const rid = w.rid(w.tdiFn(step));
      const cmd = w.m.configRead(rid, PCI_COMMAND, 2);
      return fromHost(
        await vfioConfigWrite(w.m, w.h, { fd, offset: PCI_COMMAND, size: 2, value: cmd & ~MSE }),
      );
    },
  },
  'host.reset': {
    actor: 'host',
    run: async (w, step) => {
      const fd = w.vfioFd(undefined, w.tdiFn(step));
      if (fd === undefined)
        return refused('ENODEV', `function ${w.tdiFn(step)} is not opened by VFIO`);
      return fromHost(await vfioDeviceReset(w.m, w.h, { fd }));
    },
  },
  'host.mmap-bar': {
    actor: 'host',
    run: async (w, step) => {
      const fd = w.vfioFd(undefined, w.tdiFn(step));
      if (fd === undefined)
        return refused('ENODEV', `function ${w.tdiFn(step)} is not opened by VFIO`);
      return fromHost(await vfioMmap(w.m, w.h, { fd, bar: arg(step, 'bar', 0) }));
    },
  },
  'host.mmio-read': {
    actor: 'host',
    run: async (w, step) => {
      const rid = w.rid(w.tdiFn(step));
      const b = w.m.barAddress(rid, arg(step, 'bar', 0));
      if (!b) return refused('EINVAL', `no BAR ${arg(step, 'bar', 0)}`);
      const o = w.m.mmioRead(b.base + BigInt(arg(step, 'offset', 0)), 4);
      const ok = o.result.status === 'SC';
      return {
        ok,
        ...(ok
          ? { value: o.result.data }
          : { errno: o.result.status, detail: 'the access completed with an error' }),
        events: o.events as StepEvent[],
      };
    },
  },
};
