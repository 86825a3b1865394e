/**
 * The PLDM message (DSP0240 "PLDM message fields"): a 3-byte header, then for a request the
 * command's request data, for a response a Completion Code byte and the response data.
 *
 *   byte 0: Rq (7) | D (6) | reserved (5) | Instance ID (4:0)
 *   byte 1: Hdr Ver (7:6) | PLDM Type (5:0)
 *   byte 2: PLDM Command Code
 *
 * Rq=1 D=0 is a request, Rq=0 D=0 a response, Rq=1 D=1 an unacknowledged request
 * (datagram); Rq=0 D=1 is reserved. Every header byte value decodes (the reserved bit and
 * Hdr Ver are kept), so any message re-encodes byte-exactly; the command data stays raw
 * here and control.ts reads the Control and Discovery bodies.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import {
  PLDM_HEADER_DATAGRAM_MASK,
  PLDM_HEADER_INSTANCE_ID_MASK,
  PLDM_HEADER_REQUEST_MASK,
  PLDM_HEADER_RESERVED_MASK,
  PLDM_HEADER_TYPE_MASK,
  PLDM_HEADER_VERSION_MASK,
  pldmCommandName,
} from './constants.ts';

export interface PldmHeader {
  /** Rq: a request (or datagram) rather than a response. */
  request: boolean;
  /** D: an unacknowledged request (no response is sent). */
  datagram: boolean;
  /** Bit 5 of byte 0, reserved; absent when zero. */
  reserved?: number;
  /** 0..31, echoed by the response. */
  instanceId: number;
  /** Hdr Ver, bits 7:6 of byte 1 shifted down (0 is the only one defined). */
  headerVersion: number;
  /** PLDM Type 0..63 (0 Messaging Control and Discovery). */
  pldmType: number;
  command: number;
}

export interface PldmRequest extends PldmHeader {
  request: true;
  /** The command's request data. */
  data: Uint8Array;
}

export interface PldmResponse extends PldmHeader {
  request: false;
  completionCode: number;
  /** The command's response data after the Completion Code. */
  data: Uint8Array;
}

export type PldmMessage = PldmRequest | PldmResponse;

/**
 * Decodes a PLDM message (the MCTP message body after the type byte 0x01).
 * @throws WireError 'truncated' when the header, or a response's Completion Code, is missing.
 */
export function decodePldmMessage(bytes: Uint8Array): PldmMessage {
  const r = new Reader(bytes, 'PLDM', 'message');
  const b0 = r.u8('Rq/D/InstanceID');
  const b1 = r.u8('HdrVer/PLDMType');
  const command = r.u8('PLDMCommandCode');
  const pldmType = b1 & PLDM_HEADER_TYPE_MASK;
  r.msg = pldmCommandName(pldmType, command);
  const h: PldmHeader = {
    request: (b0 & PLDM_HEADER_REQUEST_MASK) !== 0,
    datagram: (b0 & PLDM_HEADER_DATAGRAM_MASK) !== 0,
    instanceId: b0 & PLDM_HEADER_INSTANCE_ID_MASK,
    headerVersion: (b1 & PLDM_HEADER_VERSION_MASK) >>> 6,
    pldmType,
    command,
  };
  if (b0 & PLDM_HEADER_RESERVED_MASK) h.reserved = PLDM_HEADER_RESERVED_MASK;
  if (h.request) return { ...h, request: true, data: r.rest('RequestData') };
  const completionCode = r.u8('CompletionCode');
  return { ...h, request: false, completionCode, data: r.rest('ResponseData') };
}

/**
 * Encodes a PLDM message.
 * @throws RangeError when a header field does not fit its bits.
 */
export function encodePldmMessage(m: PldmMessage): Uint8Array {
  const fits = (v: number, max: number, field: string) => {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new RangeError(`PLDM ${field}: ${v} does not fit 0..${max}`);
    }
  };
  fits(m.instanceId, PLDM_HEADER_INSTANCE_ID_MASK, 'InstanceID');
  fits(m.headerVersion, 3, 'HdrVer');
  fits(m.pldmType, PLDM_HEADER_TYPE_MASK, 'PLDMType');
  const reserved = m.reserved ?? 0;
  if (reserved !== 0 && reserved !== PLDM_HEADER_RESERVED_MASK) {
    throw new RangeError(`PLDM reserved: 0x${reserved.toString(16)} is not bit 5`);
  }
  const w = new Writer(4 + m.data.length);
  w.u8(
    (m.request ? PLDM_HEADER_REQUEST_MASK : 0) |
      (m.datagram ? PLDM_HEADER_DATAGRAM_MASK : 0) |
      reserved |
      m.instanceId,
  );
  w.u8((m.headerVersion << 6) | m.pldmType);
  w.u8(m.command, 'PLDMCommandCode');
  if (!m.request) w.u8(m.completionCode, 'CompletionCode');
  return w.bytes(m.data).finish();
}

/**
 * The response header fields for a request: Rq and D cleared, Instance ID, Hdr Ver, PLDM
 * Type and command echoed (DSP0240: a response carries its request's Instance ID).
 */
export function pldmResponseTo(
  req: PldmHeader,
  completionCode: number,
  data: Uint8Array = new Uint8Array(),
): PldmResponse {
  return {
    request: false,
    datagram: false,
    instanceId: req.instanceId,
    headerVersion: req.headerVersion,
    pldmType: req.pldmType,
    command: req.command,
    completionCode,
    data,
  };
}
