/**
 * Definitions from PCIe Base 6.x section 6.33.3 "IDE Key Management (IDE_KM)" under their
 * spec names (libspdm's include/industry_standard/pci_idekm.h uses the same ones).
 * IDE_KM rides in SPDM VENDOR_DEFINED messages (StandardID PCI-SIG, ProtocolID 0).
 */

/** ProtocolID byte of the PCI-SIG vendor-defined wrapper that selects IDE_KM. */
export const PCI_PROTOCOL_ID_IDE_KM = 0x00;

// Object IDs (the first byte of every IDE_KM message).
export const PCI_IDE_KM_OBJECT_ID_QUERY = 0x00;
export const PCI_IDE_KM_OBJECT_ID_QUERY_RESP = 0x01;
export const PCI_IDE_KM_OBJECT_ID_KEY_PROG = 0x02;
export const PCI_IDE_KM_OBJECT_ID_KP_ACK = 0x03;
export const PCI_IDE_KM_OBJECT_ID_K_SET_GO = 0x04;
export const PCI_IDE_KM_OBJECT_ID_K_SET_STOP = 0x05;
export const PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK = 0x06;

export const IDE_KM_OBJECT_NAMES: Readonly<Record<number, string>> = {
  [PCI_IDE_KM_OBJECT_ID_QUERY]: 'QUERY',
  [PCI_IDE_KM_OBJECT_ID_QUERY_RESP]: 'QUERY_RESP',
  [PCI_IDE_KM_OBJECT_ID_KEY_PROG]: 'KEY_PROG',
  [PCI_IDE_KM_OBJECT_ID_KP_ACK]: 'KP_ACK',
  [PCI_IDE_KM_OBJECT_ID_K_SET_GO]: 'K_SET_GO',
  [PCI_IDE_KM_OBJECT_ID_K_SET_STOP]: 'K_SET_STOP',
  [PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK]: 'K_GOSTOP_ACK',
};

export function ideKmObjectName(id: number): string {
  return IDE_KM_OBJECT_NAMES[id] ?? `UNKNOWN(0x${id.toString(16).padStart(2, '0')})`;
}

// KeySet / direction / sub-stream byte (the masks and masked values the spec defines).
export const PCI_IDE_KM_KEY_SET_MASK = 0x01;
export const PCI_IDE_KM_KEY_SET_K0 = 0x00;
export const PCI_IDE_KM_KEY_SET_K1 = 0x01;
export const PCI_IDE_KM_KEY_DIRECTION_MASK = 0x02;
export const PCI_IDE_KM_KEY_DIRECTION_RX = 0x00;
export const PCI_IDE_KM_KEY_DIRECTION_TX = 0x02;
/** Bits 3:2 are reserved. */
export const PCI_IDE_KM_KEY_RESERVED_MASK = 0x0c;
export const PCI_IDE_KM_KEY_SUB_STREAM_MASK = 0xf0;
export const PCI_IDE_KM_KEY_SUB_STREAM_PR = 0x00;
export const PCI_IDE_KM_KEY_SUB_STREAM_NPR = 0x10;
export const PCI_IDE_KM_KEY_SUB_STREAM_CPL = 0x20;

/** Sub-stream numbers as the decoded `subStream` field holds them (bits 7:4 shifted down). */
export const IDE_SUB_STREAM = { PR: 0, NPR: 1, CPL: 2 } as const;

// KP_ACK Status.
export const PCI_IDE_KM_KP_ACK_STATUS_SUCCESS = 0x00;
export const PCI_IDE_KM_KP_ACK_STATUS_INCORRECT_LENGTH = 0x01;
export const PCI_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_PORT_INDEX = 0x02;
export const PCI_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_VALUE = 0x03;
export const PCI_IDE_KM_KP_ACK_STATUS_UNSPECIFIED_FAILURE = 0x04;

export const KP_ACK_STATUS = {
  Success: PCI_IDE_KM_KP_ACK_STATUS_SUCCESS,
  IncorrectLength: PCI_IDE_KM_KP_ACK_STATUS_INCORRECT_LENGTH,
  UnsupportedPortIndex: PCI_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_PORT_INDEX,
  UnsupportedValue: PCI_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_VALUE,
  UnspecifiedFailure: PCI_IDE_KM_KP_ACK_STATUS_UNSPECIFIED_FAILURE,
} as const;

/** KEY_PROG carries an AES-GCM-256 key as 8 dwords and the IV invocation field as 2 dwords. */
export const PCI_IDE_KM_KEY_DWORDS = 8;
export const PCI_IDE_KM_IFV_DWORDS = 2;

// Register block limits of QUERY_RESP (the IDE Extended Capability).
export const PCI_IDE_KM_LINK_IDE_REG_BLOCK_MAX_COUNT = 8;
export const PCI_IDE_KM_SELECTIVE_IDE_REG_BLOCK_MAX_COUNT = 255;
export const PCI_IDE_KM_SELECTIVE_IDE_ADDRESS_ASSOCIATION_REG_BLOCK_MAX_COUNT = 15;
