/**
 * Definitions from DMTF DSP0240 (PLDM Base Specification) under their spec names: the
 * header fields, the PLDM Types, the PLDM Messaging Control and Discovery commands (type 0)
 * and the base completion codes. libspdm's include/industry_standard/pldm.h names a subset.
 * PLDM rides on MCTP as message type 0x01 (DSP0241).
 */

// Header byte 0: Rq (bit 7), D (bit 6), reserved (bit 5), Instance ID (4:0).
export const PLDM_HEADER_REQUEST_MASK = 0x80;
export const PLDM_HEADER_DATAGRAM_MASK = 0x40;
export const PLDM_HEADER_RESERVED_MASK = 0x20;
export const PLDM_HEADER_INSTANCE_ID_MASK = 0x1f;
// Header byte 1: Hdr Ver (7:6), PLDM Type (5:0).
export const PLDM_HEADER_VERSION_MASK = 0xc0;
export const PLDM_HEADER_TYPE_MASK = 0x3f;
/** The only header format DSP0240 defines (Hdr Ver 00b). */
export const PLDM_HEADER_VERSION = 0x00;
/** Rq, D, Instance ID | Hdr Ver, PLDM Type | PLDM Command Code. */
export const PLDM_HEADER_SIZE = 3;

// PLDM Types (DSP0245).
export const PLDM_MESSAGE_TYPE_CONTROL_DISCOVERY = 0x00;
export const PLDM_MESSAGE_TYPE_SMBIOS = 0x01;
export const PLDM_MESSAGE_TYPE_PLATFORM_MONITORING_CONTROL = 0x02;
export const PLDM_MESSAGE_TYPE_BIOS_CONTROL_CONFIGURATION = 0x03;
export const PLDM_MESSAGE_TYPE_FRU_DATA = 0x04;
export const PLDM_MESSAGE_TYPE_FIRMWARE_UPDATE = 0x05;
export const PLDM_MESSAGE_TYPE_REDFISH_DEVICE_ENABLEMENT = 0x06;
export const PLDM_MESSAGE_TYPE_OEM = 0x3f;

// PLDM Messaging Control and Discovery commands (DSP0240 "PLDM command codes").
export const PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID = 0x01;
export const PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID = 0x02;
export const PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_VERSION = 0x03;
export const PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES = 0x04;
export const PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS = 0x05;
export const PLDM_CONTROL_DISCOVERY_COMMAND_SELECT_PLDM_VERSION = 0x06;
export const PLDM_CONTROL_DISCOVERY_COMMAND_NEGOTIATE_TRANSFER_PARAMETERS = 0x07;
export const PLDM_CONTROL_DISCOVERY_COMMAND_MULTIPART_SEND = 0x08;
export const PLDM_CONTROL_DISCOVERY_COMMAND_MULTIPART_RECEIVE = 0x09;

export const PLDM_CONTROL_COMMAND_NAMES: Readonly<Record<number, string>> = {
  [PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID]: 'SetTID',
  [PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID]: 'GetTID',
  [PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_VERSION]: 'GetPLDMVersion',
  [PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES]: 'GetPLDMTypes',
  [PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS]: 'GetPLDMCommands',
  [PLDM_CONTROL_DISCOVERY_COMMAND_SELECT_PLDM_VERSION]: 'SelectPLDMVersion',
  [PLDM_CONTROL_DISCOVERY_COMMAND_NEGOTIATE_TRANSFER_PARAMETERS]: 'NegotiateTransferParameters',
  [PLDM_CONTROL_DISCOVERY_COMMAND_MULTIPART_SEND]: 'MultipartSend',
  [PLDM_CONTROL_DISCOVERY_COMMAND_MULTIPART_RECEIVE]: 'MultipartReceive',
};

/** "GetTID" for type 0 commands teeio knows, else "type 0xTT command 0xCC". */
export function pldmCommandName(pldmType: number, command: number): string {
  const known =
    pldmType === PLDM_MESSAGE_TYPE_CONTROL_DISCOVERY
      ? PLDM_CONTROL_COMMAND_NAMES[command]
      : undefined;
  const h = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
  return known ?? `type ${h(pldmType)} command ${h(command)}`;
}

// Completion codes (DSP0240 "PLDM completion codes"; 0x00..0x7F generic, 0x80.. per command).
export const PLDM_BASE_CODE_SUCCESS = 0x00;
export const PLDM_BASE_CODE_ERROR = 0x01;
export const PLDM_BASE_CODE_ERROR_INVALID_DATA = 0x02;
export const PLDM_BASE_CODE_ERROR_INVALID_LENGTH = 0x03;
export const PLDM_BASE_CODE_ERROR_NOT_READY = 0x04;
export const PLDM_BASE_CODE_ERROR_UNSUPPORTED_PLDM_CMD = 0x05;
export const PLDM_BASE_CODE_ERROR_INVALID_PLDM_TYPE = 0x20;

/** TID values with a meaning of their own (DSP0240 SetTID / GetTID). */
export const PLDM_TID_UNASSIGNED = 0x00;
export const PLDM_TID_RESERVED = 0xff;

/** GetPLDMTypes answers a 64-bit field (one bit per type), GetPLDMCommands a 256-bit one. */
export const PLDM_TYPES_BITFIELD_SIZE = 8;
export const PLDM_COMMANDS_BITFIELD_SIZE = 32;
