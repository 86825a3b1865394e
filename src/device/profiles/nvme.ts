/** An NVMe controller: one function, BAR0 16 KiB (registers, doorbells, MSI-X table at 0x2000, PBA at 0x3000). */
import type { DeviceProfile } from '../pci/profile.ts';
import { KiB, TEEIO_NVME_ID, TEEIO_VENDOR_ID } from './ids.ts';

export const nvme: DeviceProfile = {
  name: 'nvme',
  description: 'NVM Express controller',
  vendorId: TEEIO_VENDOR_ID,
  deviceId: TEEIO_NVME_ID,
  revisionId: 2,
  classCode: 0x010802,
  dsm: { doe: {}, ide: { selectiveStreams: 1, addressBlocks: 1 } },
  functions: [
    {
      fn: 0,
      bars: [{ index: 0, size: 16n * KiB, is64: true }],
      msix: { vectors: 32, table: { bar: 0, offset: 0x2000 }, pba: { bar: 0, offset: 0x3000 } },
    },
  ],
};
