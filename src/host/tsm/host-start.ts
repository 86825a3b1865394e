/**
 * The untrusted host taking a TSM-bound TDI to RUN on its own, with no guest asking: the
 * question behind VFIO's first role (SYSTEM.md section 1, "TEE helper: it brings the device
 * to CONFIG_LOCKED and no further"). A host kernel playing by the rules never does this; an
 * adversarial one tries the most direct path its flavour offers, and the firmware decides:
 *
 * - TDX: START_INTERFACE_REQUEST relayed through IOMMU_VDEVICE_TSM_REQ; TDH.DEVIF.REQUEST
 *   with the TD flag carries only what the TD itself asked for (TDG.DEVIF.REQUEST), so the
 *   module refuses: the host cannot start a TD's TDI.
 * - SEV-TIO: TIO_TDI_BIND with TIO_TDI_BIND_RUN_FORCE is a host command (sev-dev-tsm's
 *   tdi_run, which the host issues when it relays the guest's first MMIO_VALIDATE): the PSP
 *   starts the TDI. What protects the guest is elsewhere: its own validation of each MMIO
 *   range (RMP) and its sDTE write for DMA, and its attester, which sees a TDI it did not start.
 * - CCA: RMI_VDEV_START is a host command too (RHI_DA_VDEV_SET_TDI_STATE RUN carried through
 *   IOMMU_VDEVICE_TSM_REQ), once an interface report was fetched since LOCK, which the host
 *   can fetch itself (RHI_DA_VDEV_GET_INTERFACE_REPORT); the Realm's own RSI_VDEV_VALIDATE_
 *   MAPPING and RSI_VDEV_DMA_ENABLE still gate its MMIO and DMA.
 */
import type { AbiArg } from '../../platform/abi.ts';
import type { Rid } from '../../platform/ids.ts';
import { iommuVdeviceTsmReq } from '../iommufd/vdevice-tsm.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { sevRecords } from './sev/records.ts';

const OP = 'host_tdi_start';

/** A relayed request of the host's own making, through the vDEVICE. */
function request(
  m: HostMachine,
  h: HostState,
  vdeviceId: number,
  scope: 'info' | 'state-change',
  message: Record<string, AbiArg>,
) {
  return iommuVdeviceTsmReq(m, h, { vdeviceId, request: { scope, message } });
}

/**
 * The host's attempt to START TDI `rid`, bound through vDEVICE `vdeviceId`: ok when the
 * firmware started it; the errno and the firmware's refusal otherwise.
 */
export async function hostStartTdi(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vdeviceId: number },
): Promise<HostOutcome<unknown>> {
  const args = { rid: `0x${a.rid.toString(16)}`, flavour: m.flavour };
  const events: HostEvent[] = [];
  const failed = (r: { errno: Parameters<typeof hostErr>[3]; detail: string }) =>
    hostErr('pci-tsm', OP, args, r.errno, r.detail, events);
  switch (m.flavour) {
    case 'tdx': {
      const r = await request(m, h, a.vdeviceId, 'state-change', {
        name: 'START_INTERFACE_REQUEST',
      });
      events.push(...r.events);
      return r.ok ? hostOk('pci-tsm', OP, args, r.value, events) : failed(r);
    }
    case 'sev': {
      const t = sevRecords(h).tdis.get(a.rid);
      if (t?.phase !== 'bound')
        return failed({ errno: 'ENXIO', detail: `${args.rid} is not bound` });
      const o = await m.firmware(
        'TIO_TDI_BIND',
        { dev: t.dev, tdi: t.tdi, gctx: t.gctx, guestDeviceId: t.guestDeviceId, run: true },
        t.dev,
      );
      events.push(...(o.events as HostEvent[]));
      if (!o.ok) return failed({ errno: 'EIO', detail: `TIO_TDI_BIND RUN_FORCE: ${o.status}` });
      return hostOk('pci-tsm', OP, args, undefined, events);
    }
    default: {
      const report = await request(m, h, a.vdeviceId, 'info', {
        name: 'RHI_DA_VDEV_GET_INTERFACE_REPORT',
      });
      events.push(...report.events);
      if (!report.ok) return failed(report);
      const r = await request(m, h, a.vdeviceId, 'state-change', {
        name: 'RHI_DA_VDEV_SET_TDI_STATE',
        tdiState: 'RHI_DA_TDI_CONFIG_RUN',
      });
      events.push(...r.events);
      return r.ok ? hostOk('pci-tsm', OP, args, r.value, events) : failed(r);
    }
  }
}
