/**
 * VFIO's uAPI numbers (include/uapi/linux/vfio.h, and the TEE-IO RFC's additions) that this
 * model's operations take or answer.
 */

/** vfio-pci region indexes: BAR0..5, the expansion ROM, config space, VGA. */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
export const VFIO_PCI_NUM_REGIONS = 9;

/** struct vfio_region_info flags. */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
/** RFC: a BAR of a private (TSM-bound) device; nothing else is reported for it. */
export const VFIO_REGION_INFO_FLAG_PRIVATE = 1 << 5;

/** VFIO_DEVICE_FEATURE: the feature index in the low 16 bits, then GET / SET / PROBE. */
export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;
export const VFIO_DEVICE_FEATURE_DMA_BUF = 11;

/** The minimum argsz of struct vfio_device_tsm_bind {argsz, flags, vdevice_id}. */
export const VFIO_DEVICE_TSM_BIND_MINSZ = 12;
/** The minimum argsz of struct vfio_device_tsm_unbind {argsz, flags}. */
export const VFIO_DEVICE_TSM_UNBIND_MINSZ = 8;
