/**
 * Definitions from CXL 3.x section 11.4 "CXL IDE Key Management (CXL_IDE_KM)" under their
 * spec names (libspdm's include/industry_standard/cxl_idekm.h uses the same ones), and the
 * CXL IDE Capability Structure of section 8.2.4.22 that QUERY_RESP carries.
 *
 * CXL_IDE_KM rides in SPDM VENDOR_DEFINED messages with StandardID PCI-SIG (0x0003), the
 * CXL consortium's VendorID 0x1E98 (wire bytes 98 1E) and ProtocolID 0; its objects have
 * the PCIe IDE_KM shapes (wire/idekm) with a Caps byte in QUERY_RESP and GETKEY added.
 */

/** VendorID of the CXL consortium in the PCI-SIG registry (also the CXL DVSEC vendor id). */
export const CXL_VENDOR_ID = 0x1e98;
/** CXL_VENDOR_ID as it appears on the wire in VendorID (u16 little-endian). */
export const CXL_VENDOR_ID_BYTES: Readonly<Uint8Array> = Uint8Array.of(
  CXL_VENDOR_ID & 0xff,
  CXL_VENDOR_ID >>> 8,
);
/** ProtocolID byte (after the VDM header) that selects CXL_IDE_KM. */
export const CXL_PROTOCOL_ID_IDE_KM = 0x00;

// Object IDs (the first byte of every CXL_IDE_KM message).
export const CXL_IDE_KM_OBJECT_ID_QUERY = 0x00;
export const CXL_IDE_KM_OBJECT_ID_QUERY_RESP = 0x01;
export const CXL_IDE_KM_OBJECT_ID_KEY_PROG = 0x02;
export const CXL_IDE_KM_OBJECT_ID_KP_ACK = 0x03;
export const CXL_IDE_KM_OBJECT_ID_K_SET_GO = 0x04;
export const CXL_IDE_KM_OBJECT_ID_K_SET_STOP = 0x05;
export const CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK = 0x06;
export const CXL_IDE_KM_OBJECT_ID_GET_KEY = 0x07;
export const CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK = 0x08;

export const CXL_IDE_KM_OBJECT_NAMES: Readonly<Record<number, string>> = {
  [CXL_IDE_KM_OBJECT_ID_QUERY]: 'QUERY',
  [CXL_IDE_KM_OBJECT_ID_QUERY_RESP]: 'QUERY_RESP',
  [CXL_IDE_KM_OBJECT_ID_KEY_PROG]: 'KEY_PROG',
  [CXL_IDE_KM_OBJECT_ID_KP_ACK]: 'KP_ACK',
  [CXL_IDE_KM_OBJECT_ID_K_SET_GO]: 'K_SET_GO',
  [CXL_IDE_KM_OBJECT_ID_K_SET_STOP]: 'K_SET_STOP',
  [CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK]: 'K_GOSTOP_ACK',
  [CXL_IDE_KM_OBJECT_ID_GET_KEY]: 'GETKEY',
  [CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK]: 'GETKEY_ACK',
};

export function cxlIdeKmObjectName(id: number): string {
  return CXL_IDE_KM_OBJECT_NAMES[id] ?? `UNKNOWN(0x${id.toString(16).padStart(2, '0')})`;
}

// QUERY_RESP Caps byte.
export const CXL_IDE_KM_QUERY_RESP_CAP_VERSION_MASK = 0x0f;
export const CXL_IDE_KM_QUERY_RESP_CAP_VERSION_1 = 0x01;
export const CXL_IDE_KM_QUERY_RESP_IV_GEN_CAP = 0x10;
export const CXL_IDE_KM_QUERY_RESP_KEY_GEN_CAP = 0x20;
export const CXL_IDE_KM_QUERY_RESP_K_SET_STOP_CAP = 0x40;
/** Bit 7 is reserved. */
export const CXL_IDE_KM_QUERY_RESP_CAP_RESERVED_MASK = 0x80;

// Key sub-stream byte of KEY_PROG, KP_ACK, K_SET_*, K_GOSTOP_ACK, GETKEY, GETKEY_ACK.
export const CXL_IDE_KM_KEY_DIRECTION_MASK = 0x02;
export const CXL_IDE_KM_KEY_DIRECTION_RX = 0x00;
export const CXL_IDE_KM_KEY_DIRECTION_TX = 0x02;
/** KEY_PROG: bit 3 set = use the default IV, ignore the Pending Initial IV in the message. */
export const CXL_IDE_KM_KEY_IV_MASK = 0x08;
export const CXL_IDE_KM_KEY_IV_INITIAL = 0x00;
export const CXL_IDE_KM_KEY_IV_DEFAULT = 0x08;
/** K_SET_GO: bit 3 selects the mode the key is started in. */
export const CXL_IDE_KM_KEY_MODE_MASK = 0x08;
export const CXL_IDE_KM_KEY_MODE_SKID = 0x00;
export const CXL_IDE_KM_KEY_MODE_CONTAINMENT = 0x08;
export const CXL_IDE_KM_KEY_SUB_STREAM_MASK = 0xf0;
/** Sub-stream 1000b: the CXL.cachemem IDE stream. */
export const CXL_IDE_KM_KEY_SUB_STREAM_CXL = 0x80;
/** Bits 0 and 2 are reserved. */
export const CXL_IDE_KM_KEY_RESERVED_MASK = 0x05;

// KP_ACK Status (the PCIe IDE_KM values; libspdm names 0x01 CXL_IDE_KM_KP_ACK_STATUS_INVALID).
export const CXL_IDE_KM_KP_ACK_STATUS_SUCCESS = 0x00;
export const CXL_IDE_KM_KP_ACK_STATUS_INCORRECT_LENGTH = 0x01;
export const CXL_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_PORT_INDEX = 0x02;
export const CXL_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_VALUE = 0x03;
export const CXL_IDE_KM_KP_ACK_STATUS_UNSPECIFIED_FAILURE = 0x04;

export const CXL_KP_ACK_STATUS = {
  Success: CXL_IDE_KM_KP_ACK_STATUS_SUCCESS,
  IncorrectLength: CXL_IDE_KM_KP_ACK_STATUS_INCORRECT_LENGTH,
  UnsupportedPortIndex: CXL_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_PORT_INDEX,
  UnsupportedValue: CXL_IDE_KM_KP_ACK_STATUS_UNSUPPORTED_VALUE,
  UnspecifiedFailure: CXL_IDE_KM_KP_ACK_STATUS_UNSPECIFIED_FAILURE,
} as const;

/** KEY_PROG and GETKEY_ACK carry an AES-GCM-256 key as 8 dwords and a 96-bit IV as 3. */
export const CXL_IDE_KM_KEY_DWORDS = 8;
export const CXL_IDE_KM_IV_DWORDS = 3;
/** The CXL IDE Capability Structure is 9 dwords (0x24 bytes). */
export const CXL_IDE_KM_IDE_CAP_REG_BLOCK_MAX_COUNT = 9;

// CXL IDE Capability Structure (8.2.4.22), dword indexes as QUERY_RESP carries them.
export const CXL_IDE_REG_CAPABILITY = 0;
export const CXL_IDE_REG_CONTROL = 1;
export const CXL_IDE_REG_STATUS = 2;
export const CXL_IDE_REG_ERROR_STATUS = 3;
export const CXL_IDE_REG_KEY_REFRESH_TIME_CAPABILITY = 4;
export const CXL_IDE_REG_TRUNCATION_TRANSMIT_DELAY_CAPABILITY = 5;
export const CXL_IDE_REG_KEY_REFRESH_TIME_CONTROL = 6;
export const CXL_IDE_REG_TRUNCATION_TRANSMIT_DELAY_CONTROL = 7;
export const CXL_IDE_REG_KEY_REFRESH_TIME_CAPABILITY2 = 8;

// CXL IDE Capability register (8.2.4.22.1).
export const CXL_IDE_CAPABILITY_CXL_IDE_CAPABLE = 1 << 0;
/** Supported CXL IDE Modes, bits 16:1: bit 1 Skid Mode, bit 2 Containment Mode. */
export const CXL_IDE_CAPABILITY_MODE_SKID = 1 << 1;
export const CXL_IDE_CAPABILITY_MODE_CONTAINMENT = 1 << 2;
/** Supported Algorithms, bits 21:17: 0 = AES-GCM, 256-bit key, 96-bit MAC. */
export const CXL_IDE_CAPABILITY_ALGORITHM_SHIFT = 17;
export const CXL_IDE_CAPABILITY_IDE_STOP_CAPABLE = 1 << 22;

// CXL IDE Status register (8.2.4.22.3): Rx IDE State bits 3:0, Tx IDE State bits 7:4.
export const CXL_IDE_STATE_ACTIVE_CONTAINMENT = 0x1;
export const CXL_IDE_STATE_ACTIVE_SKID = 0x2;
export const CXL_IDE_STATE_INSECURE = 0x4;
