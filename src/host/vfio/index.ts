/** VFIO's uAPI as the VMM calls it: the device cdev, regions, the dma-buf export, resets, the TSM bind. */
export {
  vfioClose,
  vfioDeviceAttachIommufdPt,
  vfioDeviceBindIommufd,
  vfioOpen,
} from './cdev.ts';
export { vfioDeviceFeatureDmaBuf } from './dma-buf-export.ts';
export {
  vfioBarRead,
  vfioBarWrite,
  vfioDeviceGetRegionInfo,
  vfioMmap,
  vfioMunmap,
} from './regions.ts';
export { vfioConfigWrite, vfioDevicePciHotReset, vfioDeviceReset } from './reset.ts';
export { vfioDeviceTsmBind, vfioDeviceTsmUnbind } from './tsm.ts';
