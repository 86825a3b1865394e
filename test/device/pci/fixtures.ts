/** A profile with every capability the model implements, for the trigger tests. */
import type { DeviceProfile } from '../../../src/device/pci/profile.ts';

export const KiB = 1024n;
export const MiB = 1024n * 1024n;

export const full: DeviceProfile = {
  name: 'full',
  vendorId: 0x1234,
  deviceId: 0x0001,
  classCode: 0x120000,
  dsm: {
    doe: {},
    ide: { linkStreams: 1, selectiveStreams: 2, addressBlocks: 1, teeLimited: true },
  },
  functions: [
    {
      fn: 0,
      bars: [
        { index: 0, size: 64n * KiB, is64: true },
        { index: 2, size: 1n * MiB, is64: true, prefetchable: true },
      ],
      rom: { size: 64n * KiB },
      bist: true,
      msix: { vectors: 8, table: { bar: 0, offset: 0x8000 }, pba: { bar: 0, offset: 0x9000 } },
      ats: {},
      pri: {},
      pasid: {},
      ari: true,
      tph: true,
      lnr: true,
      resizableBar: [{ bar: 2, sizes: [1n * MiB, 2n * MiB, 4n * MiB] }],
      sriov: {
        totalVfs: 2,
        firstVfOffset: 1,
        vfStride: 1,
        vfDeviceId: 0x0002,
        vf: {
          bars: [{ index: 0, size: 16n * KiB, is64: true }],
          msix: { vectors: 2, table: { bar: 0, offset: 0x2000 }, pba: { bar: 0, offset: 0x3000 } },
          ats: {},
        },
      },
    },
  ],
};
