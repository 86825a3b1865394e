/**
 * What happens inside the device without any host or guest asking: its vendor's firmware
 * update (an out-of-band update through a BMC, or the device's own update agent).
 */
import { refused } from './result.ts';
import type { OpTable } from './types.ts';

export const DEVICE_OPS: OpTable = {
  /**
   * The device's firmware replaced by `args.version` (default: the next). PCIe 6.x 11.3.8:
   * with a TDI locked with NO_FW_UPDATE in CONFIG_LOCKED or RUN the device refuses it
   * (EPERM); otherwise it is applied, the TDIs keep their state (a permitted update is not
   * an ERROR trigger) and the SPDM measurements of firmware, version and SVN change.
   */
  'device.firmware-update': {
    actor: 'device',
    run: async (w, step) => {
      const version = step.args?.version;
      const to = version === undefined ? undefined : Number(version);
      if (to !== undefined && (!Number.isInteger(to) || to < 1)) {
        return refused('EINVAL', `firmware version '${String(version)}'`);
      }
      const r = w.pw.dev.firmwareUpdate(to);
      if (r.ok)
        return { ok: true, value: r.to, detail: `firmware ${r.from} -> ${r.to}`, events: [] };
      const fns = r.blockedBy.join(', ');
      return refused('EPERM', `NO_FW_UPDATE: TDI fn ${fns} locked; firmware ${r.from} kept`);
    },
    // The next version, and a rollback to the first (or the same one re-flashed).
    candidates: () => [
      { do: 'device.firmware-update' },
      { do: 'device.firmware-update', args: { version: 1 } },
    ],
  },
};
