/**
 * A NIC: PF0 hosts the DSM (DOE + IDE) and is not itself assigned; SR-IOV with 4 VFs,
 * each a TDI with a 64 KiB BAR0 holding its registers, MSI-X table (0xE000) and PBA (0xF000).
 */
import type { DeviceProfile } from '../pci/profile.ts';
import { KiB, TEEIO_NIC_PF_ID, TEEIO_NIC_VF_ID, TEEIO_VENDOR_ID } from './ids.ts';

export const nic: DeviceProfile = {
  name: 'nic',
  description: 'Ethernet controller, PF0 with the DSM, 4 SR-IOV VFs as TDIs',
  vendorId: TEEIO_VENDOR_ID,
  deviceId: TEEIO_NIC_PF_ID,
  revisionId: 1,
  classCode: 0x020000,
  dsm: {
    doe: {},
    ide: { linkStreams: 1, selectiveStreams: 4, addressBlocks: 1, teeLimited: true },
  },
  functions: [
    {
      fn: 0,
      tdi: false,
      bars: [
        { index: 0, size: 128n * KiB, is64: true },
        { index: 2, size: 16n * KiB, is64: true, prefetchable: true },
      ],
      msix: { vectors: 32, table: { bar: 0, offset: 0x10000 }, pba: { bar: 0, offset: 0x18000 } },
      ats: {},
      pasid: { width: 20 },
      ari: true,
      sriov: {
        totalVfs: 4,
        firstVfOffset: 1,
        vfStride: 1,
        vfDeviceId: TEEIO_NIC_VF_ID,
        vf: {
          bars: [{ index: 0, size: 64n * KiB, is64: true }],
          msix: { vectors: 8, table: { bar: 0, offset: 0xe000 }, pba: { bar: 0, offset: 0xf000 } },
          ats: {},
          ari: true,
        },
      },
    },
  ],
};
