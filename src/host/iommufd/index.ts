/** iommufd's uAPI as the VMM calls it. */

export { iommuVdeviceDestroy } from './destroy.ts';
export { iommuHwptAlloc } from './hwpt.ts';
export { iommuIoasAlloc, iommuIoasMap, iommuIoasUnmap } from './ioas.ts';
export { iommufdOpen } from './object.ts';
export { iommuVdeviceAlloc } from './vdevice.ts';
export { iommuVdeviceTsmOp, iommuVdeviceTsmReq } from './vdevice-tsm.ts';
export { iommuViommuAlloc } from './viommu.ts';
