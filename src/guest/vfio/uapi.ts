/**
 * The VFIO uAPI numbers (include/uapi/linux/vfio.h) the guest's vfio-pci answers its
 * userspace with. The same header as the host's; kept apart because guest/ and host/ share
 * no code (DESIGN.md: trust boundaries are folders).
 */

/** vfio-pci region indexes: BAR0..5. */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;

/** struct vfio_region_info flags. */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;

/** struct iommu_ioas_map flags (include/uapi/linux/iommufd.h). */
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;
