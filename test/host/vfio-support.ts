/**
 * Host worlds for the VFIO, dma-buf and iommufd tests: an open iommufd, a device opened and
 * bound to it, the iommufd objects a TSM bind needs (IOAS, HWPT, vIOMMU with a KVM VM,
 * vDEVICE), and a BAR exported as a dma-buf.
 */

import { iommuHwptAlloc } from '../../src/host/iommufd/hwpt.ts';
import { iommuIoasAlloc } from '../../src/host/iommufd/ioas.ts';
import { iommufdOpen } from '../../src/host/iommufd/object.ts';
import { iommuVdeviceAlloc } from '../../src/host/iommufd/vdevice.ts';
import { iommuViommuAlloc } from '../../src/host/iommufd/viommu.ts';
import type { KvmVm } from '../../src/host/kvm/state.ts';
import type { HostState } from '../../src/host/state.ts';
import type { HostSwitches } from '../../src/host/switches.ts';
import { vfioDeviceBindIommufd, vfioOpen } from '../../src/host/vfio/cdev.ts';
import { O_CLOEXEC, O_RDWR, vfioDeviceFeatureDmaBuf } from '../../src/host/vfio/dma-buf-export.ts';
import { VFIO_DEVICE_FEATURE_DMA_BUF, VFIO_DEVICE_FEATURE_GET } from '../../src/host/vfio/uapi.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import type { Rid } from '../../src/platform/ids.ts';
import { type HostWorld, hostWorld, ok } from './world.ts';

export type VfioWorld = HostWorld & { iommufd: number };

export async function vfioWorld(
  flavour: FlavourName = 'tdx',
  switches: Partial<HostSwitches> = {},
): Promise<VfioWorld> {
  const w = await hostWorld(flavour, { switches });
  return Object.assign(w, { iommufd: ok(iommufdOpen(w.h)) });
}

/** The device `rid` opened and bound to the iommufd (private by default); its fd and dev id. */
export function openBound(w: VfioWorld, rid: Rid = w.rid, priv = true) {
  const fd = ok(vfioOpen(w.m, w.h, { rid }));
  const devId = ok(
    vfioDeviceBindIommufd(w.m, w.h, { fd, iommufd: w.iommufd, flags: 0, private: priv }),
  );
  return { fd, devId };
}

/**
 * A KVM VM record as KVM_CREATE_VM leaves one (the KVM layer is written apart; iommufd only
 * reads the VM's fd and name).
 */
export function kvmVm(h: HostState, vm = 'td1'): number {
  const fd = h.nextFd++;
  h.kvm.vms.set(fd, {
    fd,
    vm,
    type: 'confidential',
    finalized: false,
    memslots: new Map(),
    privateGfns: {},
    mirror: {},
    sharedMapped: {},
  } as KvmVm);
  return fd;
}

/** IOAS, HWPT, a vIOMMU (with KVM VM `kvmVmFd` if given) and a vDEVICE at `virtId` (0x10). */
export function vdeviceFor(w: VfioWorld, devId: number, kvmVmFd?: number, virtId = 0x10n) {
  const ioas = ok(iommuIoasAlloc(w.m, w.h));
  const hwpt = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
  const viommu = ok(
    iommuViommuAlloc(w.m, w.h, {
      flags: 0,
      type: 0,
      devId,
      hwptId: hwpt,
      ...(kvmVmFd === undefined ? {} : { kvmVmFd }),
    }),
  );
  const vdev = ok(iommuVdeviceAlloc(w.m, w.h, { viommuId: viommu, devId, virtId }));
  return { ioas, hwpt, viommu, vdev };
}

export const GET_DMA_BUF = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF;

/** BAR `bar` pages [0, length) exported as a dma-buf; its fd. */
export function exportBar(w: VfioWorld, fd: number, bar = 0, length = 0x2000n): number {
  return ok(
    vfioDeviceFeatureDmaBuf(w.m, w.h, {
      fd,
      featureFlags: GET_DMA_BUF,
      regionIndex: bar,
      openFlags: O_RDWR | O_CLOEXEC,
      flags: 0,
      ranges: [{ offset: 0n, length }],
    }),
  );
}
