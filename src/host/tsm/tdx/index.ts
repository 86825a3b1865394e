/**
 * The TDX TSM host driver (Linux's drivers/virt/coco/tdx-host and KVM's arch/x86/kvm/vmx/tdx.c):
 * struct pci_tsm_ops and KVM's arch calls spoken only as SEAMCALLs by leaf name. One concept
 * per file: link.ts (SPDM object and IDE stream: connect, disconnect), devif.ts (the DEVIF:
 * bind, stop, unbind, trusted DMA), guest-req.ts (the TD's requests carried), td.ts (the TD
 * and its private memory), mmio.ts (private MMIO), firmware.ts (calls and errnos),
 * records.ts (what the driver remembers).
 */
import type { TsmHostDriver } from '../driver.ts';
import { tdxBind, tdxEnableTrustedDma, tdxStop, tdxUnbind } from './devif.ts';
import { tdxGuestRequest } from './guest-req.ts';
import { tdxConnect, tdxDisconnect } from './link.ts';
import { tdxMapPrivateMmio, tdxUnmapPrivateMmio } from './mmio.ts';
import {
  tdxMapPrivatePage,
  tdxUnmapPrivatePage,
  tdxVmCreate,
  tdxVmDestroy,
  tdxVmFinalize,
} from './td.ts';

export { TDX_ERRNO, tdxErrno } from './firmware.ts';
export type { TdxDriverRecords } from './records.ts';

export const tdxTsmDriver: TsmHostDriver = {
  flavour: 'tdx',
  connect: tdxConnect,
  disconnect: tdxDisconnect,
  bind: tdxBind,
  stop: tdxStop,
  unbind: tdxUnbind,
  guestRequest: tdxGuestRequest,
  vmCreate: tdxVmCreate,
  vmFinalize: tdxVmFinalize,
  vmDestroy: tdxVmDestroy,
  mapPrivatePage: tdxMapPrivatePage,
  unmapPrivatePage: tdxUnmapPrivatePage,
  mapPrivateMmio: tdxMapPrivateMmio,
  unmapPrivateMmio: tdxUnmapPrivateMmio,
  enableTrustedDma: tdxEnableTrustedDma,
};
