/**
 * MCTP messages as the spdm-emu socket carries them (DSP0236 section 8.2 message type byte;
 * DSP0275 SPDM over MCTP binding: type 0x05 SPDM, 0x06 secured SPDM), plus the 4-byte MCTP
 * transport header (DSP0236 section 8.1) that pcap files with LINKTYPE_MCTP start with.
 *
 * spdm-emu sends no MCTP transport header over its socket: the payload is the message type
 * byte followed by the body. The type byte is kept whole (bit 7 is the integrity-check flag),
 * so any type decodes to its number and re-encodes unchanged.
 */
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export const MCTP_MESSAGE_TYPE_MCTP_CONTROL = 0x00;
export const MCTP_MESSAGE_TYPE_PLDM = 0x01;
export const MCTP_MESSAGE_TYPE_SPDM = 0x05;
export const MCTP_MESSAGE_TYPE_SECURED_MCTP = 0x06;

export interface MctpMessage {
  /** Message type byte (0x05 SPDM, 0x06 secured SPDM, others kept as numbers). */
  type: number;
  body: Uint8Array;
}

/** @throws RangeError when the type does not fit u8. */
export function encodeMctpMessage(m: MctpMessage): Uint8Array {
  return new Writer(1 + m.body.length).u8(m.type, 'MessageType').bytes(m.body).finish();
}

/** @throws WireError 'truncated' on an empty input. */
export function decodeMctpMessage(bytes: Uint8Array): MctpMessage {
  const r = new Reader(bytes, 'MCTP', 'message');
  const type = r.u8('MessageType');
  return { type, body: r.rest('Body') };
}

/**
 * MCTP transport header, named as libspdm's mctp_header_t: header version byte, destination
 * and source endpoint ids, and the byte holding SOM (bit 7), EOM (bit 6), packet sequence
 * (5:4), TO (3) and message tag (2:0). Bytes are kept whole so they round-trip.
 */
export interface MctpTransportHeader {
  headerVersion: number;
  destinationId: number;
  sourceId: number;
  messageTag: number;
}

export const MCTP_TRANSPORT_HEADER_SIZE = 4;

/**
 * The header spdm-emu puts in front of each MCTP message it writes to a pcap file
 * (command.c: version 0, ids 0, tag byte 0xC0 = SOM | EOM), a single-packet message.
 */
export const MCTP_PCAP_TRANSPORT_HEADER: Readonly<MctpTransportHeader> = Object.freeze({
  headerVersion: 0,
  destinationId: 0,
  sourceId: 0,
  messageTag: 0xc0,
});

/** @throws RangeError when a field does not fit u8. */
export function encodeMctpTransportHeader(h: MctpTransportHeader): Uint8Array {
  return new Writer(MCTP_TRANSPORT_HEADER_SIZE)
    .u8(h.headerVersion, 'HeaderVersion')
    .u8(h.destinationId, 'DestinationEID')
    .u8(h.sourceId, 'SourceEID')
    .u8(h.messageTag, 'MessageTag')
    .finish();
}

/** Decodes exactly 4 bytes. @throws WireError 'truncated' / 'trailing'. */
export function decodeMctpTransportHeader(bytes: Uint8Array): MctpTransportHeader {
  const r = new Reader(bytes, 'MCTP', 'transport header');
  const h: MctpTransportHeader = {
    headerVersion: r.u8('HeaderVersion'),
    destinationId: r.u8('DestinationEID'),
    sourceId: r.u8('SourceEID'),
    messageTag: r.u8('MessageTag'),
  };
  r.end();
  return h;
}
