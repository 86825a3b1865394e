/**
 * A GPU: one function, a 16 MiB register BAR0 with the MSI-X table, a 16 GiB 64-bit
 * prefetchable VRAM BAR2 (resizable from 256 MiB; backed sparsely, never allocated whole),
 * a 128 KiB expansion ROM, ATS/PASID/PRI.
 */
import type { DeviceProfile } from '../pci/profile.ts';
import { GiB, KiB, MiB, TEEIO_GPU_ID, TEEIO_VENDOR_ID } from './ids.ts';

export const gpu: DeviceProfile = {
  name: 'gpu',
  description: '3D controller with one large prefetchable VRAM BAR',
  vendorId: TEEIO_VENDOR_ID,
  deviceId: TEEIO_GPU_ID,
  revisionId: 1,
  classCode: 0x030200,
  dsm: { doe: {}, ide: { selectiveStreams: 2, addressBlocks: 2, teeLimited: true } },
  functions: [
    {
      fn: 0,
      bars: [
        { index: 0, size: 16n * MiB },
        { index: 2, size: 16n * GiB, is64: true, prefetchable: true },
      ],
      rom: { size: 128n * KiB },
      msix: { vectors: 64, table: { bar: 0, offset: 0xb90000 }, pba: { bar: 0, offset: 0xba0000 } },
      ats: {},
      pasid: { width: 20, exec: true, priv: true },
      pri: {},
      resizableBar: [
        {
          bar: 2,
          sizes: [256n * MiB, 512n * MiB, 1n * GiB, 2n * GiB, 4n * GiB, 8n * GiB, 16n * GiB],
        },
      ],
    },
  ],
};
