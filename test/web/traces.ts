/**
 * Traces for the viewer tests: the demo lifecycle with the spdm-emu DSM (which never enters
 * ERROR, so two host-attack checks fail), plus records of kinds the model does not know,
 * as other writers add them; and a synthetic trace of any length for the 100k measurement.
 */
import { runLifecycle } from '../../src/world/lifecycle.ts';
import { Trace, traceRecordJson } from '../../src/world/trace.ts';
import type { JsonRecord } from '../../src/world/trace-file.ts';

/** The seeded spdm-emu lifecycle as `teeio demo --json` prints it. */
export async function emuTrace(): Promise<JsonRecord[]> {
  const trace = new Trace();
  await runLifecycle({ behaviour: 'spdm-emu', seed: 'viewer', trace });
  return trace.records.map((r) => traceRecordJson(r) as JsonRecord);
}

/** Records of kinds the viewer has no case for: a guest call and a host layer operation. */
export const UNKNOWN_KINDS: JsonRecord[] = [
  {
    kind: 'guest',
    domain: 'guest',
    event: { op: 'tdx_accept_device', args: { fn: 1, gpa: '0x80000000' }, ok: true, result: 'ok' },
  },
  {
    kind: 'host-op',
    actor: 'vmm',
    target: 'iommufd',
    op: 'IOMMU_VDEVICE_ALLOC',
    errno: 'EBUSY',
    args: { tdi: 1, viommu: 3 },
  },
];

const STATES = ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'RUN', 'CONFIG_UNLOCKED'];

/**
 * A synthetic trace of `n` records in the shapes teeio writes: steps, SPDM messages with
 * bytes, DSM requests and TDI transitions over 4 TDIs, host uAPI calls, accesses, and a
 * failed check every 10,000 records.
 */
export function syntheticTrace(n: number): JsonRecord[] {
  const out: JsonRecord[] = [];
  const tdiState = [0, 0, 0, 0];
  for (let i = 0; out.length < n; i++) {
    const fn = (Math.floor(i / 10) % 4) + 1;
    switch (i % 10) {
      case 0:
        out.push({ kind: 'step', title: `step ${i / 10}: tsm/connect TDI ${fn}` });
        break;
      case 1:
        out.push({
          kind: 'spdm',
          domain: 'tsm',
          direction: 'to-device',
          bytes: '10840000',
          description: { protocol: 'SPDM', name: 'GET_VERSION', detail: '' },
        });
        break;
      case 2:
        out.push({
          kind: 'spdm',
          domain: 'tsm',
          direction: 'from-device',
          bytes: '100400000200100013',
          description: { protocol: 'SPDM', name: 'VERSION', detail: '1.0,1.3' },
        });
        break;
      case 3:
        out.push({
          kind: 'dsm',
          domain: 'device',
          event: {
            kind: 'TDISP_REQUEST',
            fn,
            request: 'LOCK_INTERFACE_REQUEST',
            result: 'LOCK_INTERFACE_RESPONSE',
          },
        });
        break;
      case 4: {
        const from = STATES[tdiState[fn - 1]];
        tdiState[fn - 1] = (tdiState[fn - 1] + 1) % 3;
        const to = STATES[tdiState[fn - 1]];
        out.push({
          kind: 'dsm',
          domain: 'device',
          event: { kind: 'TDI_STATE', fn, from, to, cause: 'REQUEST' },
        });
        break;
      }
      case 5:
        out.push({
          kind: 'uapi',
          domain: 'host',
          event: {
            kind: 'uapi',
            layer: 'vfio',
            op: 'VFIO_DEVICE_TSM_BIND',
            args: { fn },
            ok: i % 7 !== 0,
            errno: i % 7 ? undefined : 'EBUSY',
          },
        });
        break;
      case 6:
        out.push({
          kind: 'access',
          domain: 'guest',
          action: `MMIO read T=1 fn ${fn}`,
          result: 'SC',
        });
        break;
      case 7:
        out.push({
          kind: 'abi',
          domain: 'host',
          event: {
            kind: 'abi',
            domain: 'host',
            flavour: 'tdx',
            call: 'TDH.DEVIF.CREATE',
            args: { fn },
            status: 'TDX_SUCCESS',
            ok: true,
          },
        });
        break;
      default:
        out.push({
          kind: 'check',
          name: `TDI ${fn} check ${i}`,
          ok: i % 10_000 !== 9,
          detail: 'synthetic',
        });
    }
  }
  return out;
}
