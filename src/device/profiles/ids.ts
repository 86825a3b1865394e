/**
 * Ids the built-in profiles use. 1b36 is the vendor id QEMU's emulated devices carry;
 * the device ids are teeio's own picks in a range QEMU does not use, illustrative only.
 */
export const TEEIO_VENDOR_ID = 0x1b36;
export const TEEIO_NIC_PF_ID = 0x7e01;
export const TEEIO_NIC_VF_ID = 0x7e02;
export const TEEIO_GPU_ID = 0x7e03;
export const TEEIO_NVME_ID = 0x7e04;

export const KiB = 1n << 10n;
export const MiB = 1n << 20n;
export const GiB = 1n << 30n;
