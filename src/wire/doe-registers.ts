/**
 * The DOE Extended Capability's registers (PCIe 6.x 7.9.24; the mailbox protocol of 6.30),
 * with the Linux include/uapi/linux/pci_regs.h names: the one copy both the device model
 * (device/pci) and the host's mailbox driver (transport/doe-mailbox.ts) use.
 */
export const PCI_EXT_CAP_ID_DOE = 0x2e;
export const PCI_DOE_CAP = 0x04;
export const PCI_DOE_CAP_INT_SUP = 0x00000001;
export const PCI_DOE_CAP_INT_MSG_NUM = 0x00000ffe;
export const PCI_DOE_CTRL = 0x08;
export const PCI_DOE_CTRL_ABORT = 0x00000001;
export const PCI_DOE_CTRL_INT_EN = 0x00000002;
export const PCI_DOE_CTRL_GO = 0x80000000;
export const PCI_DOE_STATUS = 0x0c;
export const PCI_DOE_STATUS_BUSY = 0x00000001;
export const PCI_DOE_STATUS_INT_STATUS = 0x00000002;
export const PCI_DOE_STATUS_ERROR = 0x00000004;
export const PCI_DOE_STATUS_DATA_OBJECT_READY = 0x80000000;
export const PCI_DOE_WRITE = 0x10;
export const PCI_DOE_READ = 0x14;
export const PCI_DOE_CAP_SIZEOF = 0x18;
export const PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH = 0x0003ffff;
