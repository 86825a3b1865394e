/**
 * PCI / PCI Express configuration-space register offsets and bits, under the names of
 * Linux include/uapi/linux/pci_regs.h (PCI Express Base 6.x chapter 7). Where Linux has
 * no name yet the spec's register name is used in the same style (marked "spec name").
 * Offsets inside a capability are relative to the capability's start.
 */

// PCIe 7.5.1: type 0 configuration space header
export const PCI_CFG_SPACE_SIZE = 0x100;
export const PCI_CFG_SPACE_EXP_SIZE = 0x1000;
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_PARITY = 0x40;
export const PCI_COMMAND_SERR = 0x100;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_INTERRUPT = 0x08;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_STATUS_PARITY = 0x100;
export const PCI_STATUS_SIG_TARGET_ABORT = 0x800;
export const PCI_STATUS_REC_TARGET_ABORT = 0x1000;
export const PCI_STATUS_REC_MASTER_ABORT = 0x2000;
export const PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
export const PCI_STATUS_DETECTED_PARITY = 0x8000;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_MFD = 0x80;
export const PCI_BIST = 0x0f;
export const PCI_BIST_CODE_MASK = 0x0f;
export const PCI_BIST_START = 0x40;
export const PCI_BIST_CAPABLE = 0x80;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_5 = 0x24;
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
export const PCI_BASE_ADDRESS_MEM_MASK = 0xfffffff0;
export const PCI_BASE_ADDRESS_IO_MASK = 0xfffffffc;
export const PCI_STD_NUM_BARS = 6;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_ROM_ADDRESS_ENABLE = 0x01;
export const PCI_ROM_ADDRESS_MASK = 0xfffff800;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_STD_HEADER_SIZEOF = 0x40;

// Capability list (PCI 3.0 chapter 6.7 / PCIe 7.5.2)
export const PCI_CAP_LIST_ID = 0;
export const PCI_CAP_LIST_NEXT = 1;
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;

// Power Management capability (PCI PM 1.2 / PCIe 7.5.2.1)
export const PCI_PM_PMC = 2;
export const PCI_PM_CTRL = 4;
export const PCI_PM_CTRL_STATE_MASK = 0x0003;
export const PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;
export const PCI_PM_CTRL_PME_ENABLE = 0x0100;
export const PCI_PM_CTRL_PME_STATUS = 0x8000;
export const PCI_PM_SIZEOF = 8;
export const PCI_D0 = 0;
export const PCI_D3HOT = 3;

// PCI Express capability (PCIe 7.5.3)
export const PCI_EXP_FLAGS = 2;
export const PCI_EXP_FLAGS_VERS = 0x000f;
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_DEVCAP = 4;
export const PCI_EXP_DEVCAP_PAYLOAD = 0x00000007;
export const PCI_EXP_DEVCAP_EXT_TAG = 0x00000020;
export const PCI_EXP_DEVCAP_RBER = 0x00008000;
export const PCI_EXP_DEVCAP_FLR = 0x10000000;
/** TEE-IO Supported (PCIe 6.1 7.5.3.3, bit 30): the function implements TDISP. */
export const PCI_EXP_DEVCAP_TEE = 0x40000000;
export const PCI_EXP_DEVCTL = 8;
export const PCI_EXP_DEVCTL_CERE = 0x0001;
export const PCI_EXP_DEVCTL_NFERE = 0x0002;
export const PCI_EXP_DEVCTL_FERE = 0x0004;
export const PCI_EXP_DEVCTL_URRE = 0x0008;
export const PCI_EXP_DEVCTL_RELAX_EN = 0x0010;
export const PCI_EXP_DEVCTL_PAYLOAD = 0x00e0;
export const PCI_EXP_DEVCTL_EXT_TAG = 0x0100;
export const PCI_EXP_DEVCTL_AUX_PME = 0x0400;
export const PCI_EXP_DEVCTL_NOSNOOP_EN = 0x0800;
export const PCI_EXP_DEVCTL_READRQ = 0x7000;
export const PCI_EXP_DEVCTL_READRQ_512B = 0x2000;
/** Initiate Function Level Reset (endpoints; bridges call it Bridge Configuration Retry). */
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
export const PCI_EXP_DEVSTA = 10;
export const PCI_EXP_DEVSTA_CED = 0x0001;
export const PCI_EXP_DEVSTA_NFED = 0x0002;
export const PCI_EXP_DEVSTA_FED = 0x0004;
export const PCI_EXP_DEVSTA_URD = 0x0008;
export const PCI_EXP_LNKCAP = 12;
export const PCI_EXP_LNKCTL = 16;
export const PCI_EXP_LNKSTA = 18;
export const PCI_EXP_DEVCAP2 = 36;
export const PCI_EXP_DEVCTL2 = 40;
export const PCI_EXP_DEVSTA2 = 42;
export const PCI_EXP_LNKCAP2 = 44;
export const PCI_EXP_LNKCTL2 = 48;
export const PCI_EXP_LNKSTA2 = 50;
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x3c;

// MSI-X capability (PCIe 7.7.2)
export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_TABLE = 4;
export const PCI_MSIX_TABLE_BIR = 0x00000007;
export const PCI_MSIX_TABLE_OFFSET = 0xfffffff8;
export const PCI_MSIX_PBA = 8;
export const PCI_MSIX_PBA_BIR = 0x00000007;
export const PCI_MSIX_PBA_OFFSET = 0xfffffff8;
export const PCI_CAP_MSIX_SIZEOF = 12;
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 12;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 1;

// Extended capabilities (PCIe 7.6.3)
export const PCI_EXT_CAP_ID_ARI = 0x0e;
export const PCI_EXT_CAP_ID_ATS = 0x0f;
export const PCI_EXT_CAP_ID_SRIOV = 0x10;
export const PCI_EXT_CAP_ID_PRI = 0x13;
export const PCI_EXT_CAP_ID_REBAR = 0x15;
export const PCI_EXT_CAP_ID_TPH = 0x17;
export const PCI_EXT_CAP_ID_PASID = 0x1b;
/** Lightweight Notification Requester (spec name; PCIe 7.9.11). */
export const PCI_EXT_CAP_ID_LNR = 0x1c;
export const PCI_EXT_CAP_ID_IDE = 0x30;

// ARI (PCIe 7.8.7)
export const PCI_ARI_CAP = 0x04;
export const PCI_ARI_CAP_MFVC = 0x0001;
export const PCI_ARI_CAP_ACS = 0x0002;
export const PCI_ARI_CTRL = 0x06;
export const PCI_ARI_CTRL_MFVC = 0x0001;
export const PCI_ARI_CTRL_ACS = 0x0002;
export const PCI_ARI_CTRL_FG = 0x0070;
export const PCI_EXT_CAP_ARI_SIZEOF = 8;

// ATS (PCIe 10.5.1)
export const PCI_ATS_CAP = 0x04;
export const PCI_ATS_CAP_QDEP_MASK = 0x001f;
export const PCI_ATS_CAP_PAGE_ALIGNED = 0x0020;
export const PCI_ATS_CTRL = 0x06;
export const PCI_ATS_CTRL_ENABLE = 0x8000;
export const PCI_ATS_CTRL_STU_MASK = 0x001f;
export const PCI_EXT_CAP_ATS_SIZEOF = 8;

// PRI (PCIe 10.5.2)
export const PCI_PRI_CTRL = 0x04;
export const PCI_PRI_CTRL_ENABLE = 0x0001;
export const PCI_PRI_CTRL_RESET = 0x0002;
export const PCI_PRI_STATUS = 0x06;
export const PCI_PRI_STATUS_RF = 0x0001;
export const PCI_PRI_STATUS_UPRGI = 0x0002;
export const PCI_PRI_STATUS_STOPPED = 0x0100;
export const PCI_PRI_MAX_REQ = 0x08;
export const PCI_PRI_ALLOC_REQ = 0x0c;
export const PCI_EXT_CAP_PRI_SIZEOF = 16;

// PASID (PCIe 7.8.8)
export const PCI_PASID_CAP = 0x04;
export const PCI_PASID_CAP_EXEC = 0x0002;
export const PCI_PASID_CAP_PRIV = 0x0004;
export const PCI_PASID_CAP_WIDTH_MASK = 0x1f00;
export const PCI_PASID_CTRL = 0x06;
export const PCI_PASID_CTRL_ENABLE = 0x0001;
export const PCI_PASID_CTRL_EXEC = 0x0002;
export const PCI_PASID_CTRL_PRIV = 0x0004;
export const PCI_EXT_CAP_PASID_SIZEOF = 8;

// SR-IOV (PCIe 9.3.3)
export const PCI_SRIOV_CAP = 0x04;
export const PCI_SRIOV_CTRL = 0x08;
export const PCI_SRIOV_CTRL_VFE = 0x01;
export const PCI_SRIOV_CTRL_VFM = 0x02;
export const PCI_SRIOV_CTRL_INTR = 0x04;
export const PCI_SRIOV_CTRL_MSE = 0x08;
export const PCI_SRIOV_CTRL_ARI = 0x10;
export const PCI_SRIOV_STATUS = 0x0a;
export const PCI_SRIOV_INITIAL_VF = 0x0c;
export const PCI_SRIOV_TOTAL_VF = 0x0e;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_FUNC_LINK = 0x12;
export const PCI_SRIOV_VF_OFFSET = 0x14;
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_VF_DID = 0x1a;
export const PCI_SRIOV_SUP_PGSIZE = 0x1c;
export const PCI_SRIOV_SYS_PGSIZE = 0x20;
export const PCI_SRIOV_BAR = 0x24;
export const PCI_SRIOV_NUM_BARS = 6;
export const PCI_SRIOV_VFM = 0x3c;
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;

// Resizable BAR (PCIe 7.8.6)
export const PCI_REBAR_CAP = 4;
export const PCI_REBAR_CAP_SIZES = 0xfffffff0;
export const PCI_REBAR_CTRL = 8;
export const PCI_REBAR_CTRL_BAR_IDX = 0x00000007;
export const PCI_REBAR_CTRL_NBAR_SHIFT = 5;
export const PCI_REBAR_CTRL_BAR_SIZE = 0x00003f00;
export const PCI_REBAR_CTRL_BAR_SHIFT = 8;

// TPH Requester (PCIe 7.9.13)
export const PCI_TPH_CAP = 4;
export const PCI_TPH_CAP_NO_ST = 0x00000001;
export const PCI_TPH_CTRL = 8;
export const PCI_TPH_CTRL_MODE_SEL_MASK = 0x00000007;
export const PCI_TPH_CTRL_REQ_EN_MASK = 0x00000300;
export const PCI_TPH_BASE_SIZEOF = 0x0c;

// LNR (spec names; PCIe 7.9.11)
export const PCI_LNR_CAP = 4;
export const PCI_LNR_CAP_LNR64 = 0x0001;
export const PCI_LNR_CTRL = 6;
export const PCI_LNR_CTRL_ENABLE = 0x0001;
export const PCI_LNR_CTRL_CLS = 0x0002;
export const PCI_LNR_CTRL_LIMIT_MASK = 0x1f00;
export const PCI_EXT_CAP_LNR_SIZEOF = 8;

// Data Object Exchange (PCIe 7.9.24, 6.30): the one copy lives in wire/, beside the DOE header.
export {
  PCI_DOE_CAP,
  PCI_DOE_CAP_INT_MSG_NUM,
  PCI_DOE_CAP_INT_SUP,
  PCI_DOE_CAP_SIZEOF,
  PCI_DOE_CTRL,
  PCI_DOE_CTRL_ABORT,
  PCI_DOE_CTRL_GO,
  PCI_DOE_CTRL_INT_EN,
  PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
  PCI_DOE_READ,
  PCI_DOE_STATUS,
  PCI_DOE_STATUS_BUSY,
  PCI_DOE_STATUS_DATA_OBJECT_READY,
  PCI_DOE_STATUS_ERROR,
  PCI_DOE_STATUS_INT_STATUS,
  PCI_DOE_WRITE,
  PCI_EXT_CAP_ID_DOE,
} from '../../wire/doe-registers.ts';

// Integrity and Data Encryption (PCIe 7.9.26)
export const PCI_IDE_CAP = 0x4;
export const PCI_IDE_CAP_LINK = 0x1;
export const PCI_IDE_CAP_SELECTIVE = 0x2;
export const PCI_IDE_CAP_IDE_KM = 0x40;
export const PCI_IDE_CAP_ALG_SHIFT = 8; // 0 = AES-GCM 256, 96-bit MAC
export const PCI_IDE_CAP_LINK_TC_NUM_SHIFT = 13; // number of Link IDE streams minus 1
export const PCI_IDE_CAP_SEL_NUM_SHIFT = 16; // number of Selective IDE streams minus 1
export const PCI_IDE_CAP_TEE_LIMITED = 0x1000000;
export const PCI_IDE_CTL = 0x8;
export const PCI_IDE_LINK_STREAM_0 = 0xc;
export const PCI_IDE_LINK_BLOCK_SIZE = 8;
export const PCI_IDE_LINK_CTL_0 = 0x0;
export const PCI_IDE_LINK_CTL_EN = 0x1;
export const PCI_IDE_LINK_STS_0 = 0x4;
export const PCI_IDE_SEL_CAP = 0;
export const PCI_IDE_SEL_CAP_ASSOC_MASK = 0xf; // number of Address Association register blocks
export const PCI_IDE_SEL_CTL = 4;
export const PCI_IDE_SEL_CTL_EN = 0x1;
export const PCI_IDE_SEL_CTL_TEE_LIMITED = 0x800000;
export const PCI_IDE_SEL_CTL_TC_SHIFT = 19; // bits 21:19, also in the Link Stream Control
export const PCI_IDE_SEL_CTL_TC_MASK = 0x7;
export const PCI_IDE_SEL_CTL_ID_SHIFT = 24;
export const PCI_IDE_SEL_STS = 8;
export const PCI_IDE_SEL_STS_STATE_MASK = 0xf;
export const PCI_IDE_SEL_STS_RECVD_INTEGRITY_CHECK = 0x80000000;
export const PCI_IDE_SEL_RID_1 = 0xc;
export const PCI_IDE_SEL_RID_2 = 0x10;
export const PCI_IDE_SEL_ADDR_BLOCK_SIZE = 12;
/** Stream states in the Link/Selective IDE Stream Status registers. */
export const PCI_IDE_STATE_INSECURE = 0;
export const PCI_IDE_STATE_SECURE = 2;
/** Offset of Address Association Register 1 of block `i` inside a Selective IDE Stream block. */
export function PCI_IDE_SEL_ADDR_1(i: number): number {
  return 20 + i * PCI_IDE_SEL_ADDR_BLOCK_SIZE;
}
/** Size of one Selective IDE Stream register block with `nrAssoc` address blocks. */
export function PCI_IDE_SEL_BLOCK_SIZE(nrAssoc: number): number {
  return 20 + PCI_IDE_SEL_ADDR_BLOCK_SIZE * nrAssoc;
}
