/**
 * The SEV TSM host driver (Linux's drivers/crypto/ccp/sev-dev-tsm.c and KVM's
 * arch/x86/kvm/svm/sev.c): struct pci_tsm_ops and KVM's SNP calls spoken only as PSP
 * commands and RMPUPDATE. One concept per file: link.ts (device contexts: connect,
 * disconnect), guest.ts (guest contexts and their RAM), tdi.ts (TDI contexts: bind, stop,
 * unbind, trusted DMA), mmio.ts (BAR pages in the guest), guest-req.ts (the guest's
 * TIO_MSG_* relayed), records.ts (what the driver remembers), firmware.ts (status -> errno).
 */
import type { TsmHostDriver } from '../driver.ts';
import {
  sevMapPrivatePage,
  sevUnmapPrivatePage,
  sevVmCreate,
  sevVmDestroy,
  sevVmFinalize,
} from './guest.ts';
import { sevGuestRequest } from './guest-req.ts';
import { sevConnect, sevDisconnect } from './link.ts';
import { sevMapPrivateMmio, sevUnmapPrivateMmio } from './mmio.ts';
import { sevBind, sevEnableTrustedDma, sevStop, sevUnbind } from './tdi.ts';

export type { SevGuestReply } from './guest-req.ts';
export { type SevDriverRecords, sevGuestOf } from './records.ts';

export const sevTsmDriver: TsmHostDriver = {
  flavour: 'sev',
  connect: sevConnect,
  disconnect: sevDisconnect,
  bind: sevBind,
  stop: sevStop,
  unbind: sevUnbind,
  guestRequest: sevGuestRequest,
  vmCreate: sevVmCreate,
  vmFinalize: sevVmFinalize,
  vmDestroy: sevVmDestroy,
  mapPrivatePage: sevMapPrivatePage,
  unmapPrivatePage: sevUnmapPrivatePage,
  mapPrivateMmio: sevMapPrivateMmio,
  unmapPrivateMmio: sevUnmapPrivateMmio,
  enableTrustedDma: sevEnableTrustedDma,
};
