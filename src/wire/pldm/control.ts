/**
 * PLDM Messaging Control and Discovery (PLDM Type 0) command data, DSP0240 "PLDM Messaging
 * Control and Discovery commands": the request and response data of the commands teeio
 * reads and writes. The header and Completion Code are message.ts's; these are the bytes
 * after them. A response whose Completion Code is not SUCCESS carries no data.
 *
 *   SetTID           req: TID u8                               rsp: (none)
 *   GetTID           req: (none)                               rsp: TID u8
 *   GetPLDMTypes     req: (none)                               rsp: PLDMTypes bitfield (8 bytes)
 *   GetPLDMCommands  req: PLDMType u8 | Version ver32 (u32)     rsp: PLDMCommands bitfield (32 bytes)
 *
 * Bitfields: bit n of byte n/8 (LSB first) stands for type / command n.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import {
  PLDM_COMMANDS_BITFIELD_SIZE,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID,
  PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID,
  PLDM_TYPES_BITFIELD_SIZE,
} from './constants.ts';

export type PldmControlRequestData =
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID; tid: number }
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID }
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES }
  | {
      command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS;
      pldmType: number;
      /** ver32 (DSP0240 "Version field encoding"), as the u32 on the wire. */
      version: number;
    };

export type PldmControlResponseData =
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID }
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID; tid: number }
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES; types: number[] }
  | { command: typeof PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS; commands: number[] };

/** The commands this file has request and response layouts for. */
export const PLDM_CONTROL_CODEC_COMMANDS: readonly number[] = [
  PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS,
];

/**
 * Reads the request data of a Control and Discovery command, or undefined for a command
 * without a layout here.
 * @throws WireError 'truncated' / 'trailing' when the data is not the command's length.
 */
export function decodePldmControlRequest(
  command: number,
  data: Uint8Array,
): PldmControlRequestData | undefined {
  const r = new Reader(data, 'PLDM', `${nameOf(command)} request`, 3);
  let m: PldmControlRequestData;
  switch (command) {
    case PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID:
      m = { command, tid: r.u8('TID') };
      break;
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID:
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES:
      m = { command };
      break;
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS:
      m = { command, pldmType: r.u8('PLDMType'), version: r.u32('Version') };
      break;
    default:
      return undefined;
  }
  r.end();
  return m;
}

/** @throws RangeError when a field does not fit. */
export function encodePldmControlRequest(m: PldmControlRequestData): Uint8Array {
  const w = new Writer(8);
  if (m.command === PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID) w.u8(m.tid, 'TID');
  if (m.command === PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS) {
    w.u8(m.pldmType, 'PLDMType').u32(m.version, 'Version');
  }
  return w.finish();
}

/**
 * Reads the data after a SUCCESS Completion Code, or undefined for a command without a
 * layout here.
 * @throws WireError 'truncated' / 'trailing' when the data is not the command's length.
 */
export function decodePldmControlResponse(
  command: number,
  data: Uint8Array,
): PldmControlResponseData | undefined {
  const r = new Reader(data, 'PLDM', `${nameOf(command)} response`, 4);
  let m: PldmControlResponseData;
  switch (command) {
    case PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID:
      m = { command };
      break;
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID:
      m = { command, tid: r.u8('TID') };
      break;
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES:
      m = { command, types: bitsOf(r.bytes(PLDM_TYPES_BITFIELD_SIZE, 'PLDMTypes')) };
      break;
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS:
      m = { command, commands: bitsOf(r.bytes(PLDM_COMMANDS_BITFIELD_SIZE, 'PLDMCommands')) };
      break;
    default:
      return undefined;
  }
  r.end();
  return m;
}

/** @throws RangeError when a TID does not fit or a type / command is outside its bitfield. */
export function encodePldmControlResponse(m: PldmControlResponseData): Uint8Array {
  switch (m.command) {
    case PLDM_CONTROL_DISCOVERY_COMMAND_SET_TID:
      return new Uint8Array();
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID:
      return new Writer(1).u8(m.tid, 'TID').finish();
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES:
      return bitfield(m.types, PLDM_TYPES_BITFIELD_SIZE, 'PLDMTypes');
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS:
      return bitfield(m.commands, PLDM_COMMANDS_BITFIELD_SIZE, 'PLDMCommands');
  }
}

function nameOf(command: number): string {
  return `command 0x${command.toString(16).padStart(2, '0')}`;
}

/** The set bits of a little-endian bitfield, ascending. */
function bitsOf(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < b.length * 8; i++) if (b[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

function bitfield(bits: readonly number[], size: number, field: string): Uint8Array {
  const out = new Uint8Array(size);
  for (const n of bits) {
    if (!Number.isInteger(n) || n < 0 || n >= size * 8) {
      throw new RangeError(`${field}: ${n} is outside the ${size * 8}-bit field`);
    }
    out[n >> 3] |= 1 << (n & 7);
  }
  return out;
}
