/** iommufd's uAPI numbers (include/uapi/linux/iommufd.h, and the TEE-IO RFC's TSM op). */

/** struct iommu_ioas_map flags. */
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;

/** enum iommu_viommu_type: the default (software) vIOMMU and the vendors' hardware ones. */
export const IOMMU_VIOMMU_TYPE_DEFAULT = 0;

/** IOMMU_VDEVICE_TSM_OP types. */
export const IOMMU_VDEVICE_TSM_BIND = 0;
export const IOMMU_VDEVICE_TSM_UNBIND = 1;
