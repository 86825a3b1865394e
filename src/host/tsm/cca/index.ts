/**
 * The CCA TSM host driver (Linux's drivers/virt/coco/arm-cca-host and arm64 KVM's realm
 * code): struct pci_tsm_ops and KVM's arch calls spoken only as RMI commands. One concept
 * per file: link.ts (PDEV: connect, disconnect), vdev.ts (VDEV: bind, stop, unbind,
 * trusted DMA), mmio.ts (device memory in the Realm), realm.ts (the Realm and its RAM),
 * guest-req.ts (the Realm's host calls), records.ts (what the driver remembers).
 */
import type { TsmHostDriver } from '../driver.ts';
import { ccaGuestRequest } from './guest-req.ts';
import { ccaConnect, ccaDisconnect } from './link.ts';
import { ccaMapPrivateMmio, ccaUnmapPrivateMmio } from './mmio.ts';
import {
  ccaMapPrivatePage,
  ccaUnmapPrivatePage,
  ccaVmCreate,
  ccaVmDestroy,
  ccaVmFinalize,
} from './realm.ts';
import { ccaBind, ccaEnableTrustedDma, ccaStop, ccaUnbind } from './vdev.ts';

export type { CcaDriverRecords } from './records.ts';

export const ccaTsmDriver: TsmHostDriver = {
  flavour: 'cca',
  connect: ccaConnect,
  disconnect: ccaDisconnect,
  bind: ccaBind,
  stop: ccaStop,
  unbind: ccaUnbind,
  guestRequest: ccaGuestRequest,
  vmCreate: ccaVmCreate,
  vmFinalize: ccaVmFinalize,
  vmDestroy: ccaVmDestroy,
  mapPrivatePage: ccaMapPrivatePage,
  unmapPrivatePage: ccaUnmapPrivatePage,
  mapPrivateMmio: ccaMapPrivateMmio,
  unmapPrivateMmio: ccaUnmapPrivateMmio,
  enableTrustedDma: ccaEnableTrustedDma,
};
