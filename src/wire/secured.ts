/**
 * DSP0277 secured-message record layout (section 6, "Secured Messages"), for the two
 * bindings teeio speaks: PCI DOE (PCIe 6.31.4 / DSP0277 with no sequence number on the wire)
 * and MCTP (DSP0275: 2-byte sequence number, random padding, app data = MCTP message).
 * No cryptography here: the session layer encrypts and authenticates.
 * shared/reference/WIRE.md "Secured record".
 *
 * Record: SessionID u32 | SequenceNumber (MCTP: u16) | Length u16 | ciphertext | MAC[16].
 * Length counts ciphertext + MAC. AAD = every byte before the ciphertext.
 * Plaintext: AppDataLength u16 | app data | random padding (MCTP 1-32 bytes, DOE none).
 *
 * Where the record sits: DOE puts it in a data object of type 2 (padded to a dword; strip the
 * pad with `doeSecuredRecordBytes`); MCTP puts it after the message type byte 0x06, and its
 * app data starts with the inner type byte 0x05 (`encodeSecuredAppData`).
 */
import { WireError } from './errors.ts';
import { MCTP_MESSAGE_TYPE_SPDM } from './mctp.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export type SecuredBinding = 'pci_doe' | 'mctp';

/** AEAD tag size for every SPDM AEAD suite (AES-GCM, ChaCha20-Poly1305, SM4-GCM). */
export const SECURED_MAC_SIZE = 16;
/** Bytes of sequence number on the wire: DOE 0, MCTP 2 (DSP0275). */
export const SECURED_SEQUENCE_NUMBER_SIZE: Readonly<Record<SecuredBinding, number>> = {
  pci_doe: 0,
  mctp: 2,
};
/** Most random padding libspdm's MCTP binding adds (LIBSPDM_MCTP_MAX_RANDOM_NUMBER_COUNT). */
export const SECURED_MCTP_MAX_RANDOM_PADDING = 32;

export interface SecuredRecord {
  sessionId: number;
  /** MCTP only: the low 16 bits of the sequence number; absent for PCI DOE. */
  sequenceNumber?: number;
  /**
   * The Length field: normally ciphertext.length + 16. The encoder writes it as given, so
   * tests and the explorer can build records that lie about their length; `makeSecuredRecord`
   * computes it.
   */
  length: number;
  ciphertext: Uint8Array;
  mac: Uint8Array;
}

/** A record whose Length field is consistent with its ciphertext and MAC. */
export function makeSecuredRecord(
  sessionId: number,
  ciphertext: Uint8Array,
  mac: Uint8Array,
  sequenceNumber?: number,
): SecuredRecord {
  const rec: SecuredRecord = {
    sessionId,
    length: ciphertext.length + mac.length,
    ciphertext,
    mac,
  };
  if (sequenceNumber !== undefined) rec.sequenceNumber = sequenceNumber;
  return rec;
}

/** Size of the header before the ciphertext (= the AAD size): 6 for DOE, 8 for MCTP. */
export function securedHeaderSize(binding: SecuredBinding): number {
  return 4 + SECURED_SEQUENCE_NUMBER_SIZE[binding] + 2;
}

function writeHeader(w: Writer, binding: SecuredBinding, m: SecuredRecord): void {
  w.u32(m.sessionId, 'SessionID');
  if (binding === 'mctp') {
    if (m.sequenceNumber === undefined) {
      throw new RangeError('SequenceNumber: an MCTP secured record needs one');
    }
    w.u16(m.sequenceNumber, 'SequenceNumber');
  } else if (m.sequenceNumber !== undefined) {
    throw new RangeError('SequenceNumber: a PCI DOE secured record carries none');
  }
  w.u16(m.length, 'Length');
}

/**
 * The additional authenticated data: every byte of the record before the ciphertext.
 * @throws RangeError as `encodeSecuredRecord`.
 */
export function securedRecordAad(binding: SecuredBinding, m: SecuredRecord): Uint8Array {
  const w = new Writer(8);
  writeHeader(w, binding, m);
  return w.finish();
}

/**
 * Encodes a record (for DOE without the DOE header, for MCTP without the 0x06 type byte).
 * @throws RangeError when a field does not fit, the MAC is not 16 bytes, or the sequence
 * number is missing (MCTP) / present (PCI DOE).
 */
export function encodeSecuredRecord(binding: SecuredBinding, m: SecuredRecord): Uint8Array {
  const w = new Writer(securedHeaderSize(binding) + m.ciphertext.length + SECURED_MAC_SIZE);
  writeHeader(w, binding, m);
  w.bytes(m.ciphertext);
  w.fixed(m.mac, SECURED_MAC_SIZE, 'MAC');
  return w.finish();
}

/**
 * Decodes exactly one record.
 * @throws WireError 'bad-field' when Length is below the MAC size, 'truncated' when fewer
 * bytes follow than Length says, 'trailing' when more do.
 */
export function decodeSecuredRecord(binding: SecuredBinding, bytes: Uint8Array): SecuredRecord {
  const r = new Reader(bytes, 'DSP0277', `secured record (${binding})`);
  const sessionId = r.u32('SessionID');
  const sequenceNumber = binding === 'mctp' ? r.u16('SequenceNumber') : undefined;
  const lengthAt = r.offset;
  const length = r.u16('Length');
  if (length < SECURED_MAC_SIZE) {
    throw r.error('Length', 'bad-field', `${length} is shorter than the MAC`, lengthAt);
  }
  const ciphertext = r.bytes(length - SECURED_MAC_SIZE, 'Ciphertext');
  const mac = r.bytes(SECURED_MAC_SIZE, 'MAC');
  r.end();
  const m: SecuredRecord = { sessionId, length, ciphertext, mac };
  if (sequenceNumber !== undefined) m.sequenceNumber = sequenceNumber;
  return m;
}

/**
 * The exact record inside a type-2 DOE payload: the record's own Length says where it ends;
 * what follows must be the DOE dword padding (0-3 zero bytes).
 * @throws WireError 'truncated' when the payload is shorter than the record, 'trailing'
 * when more than 3 bytes or non-zero bytes follow it.
 */
export function doeSecuredRecordBytes(payload: Uint8Array): Uint8Array {
  const r = new Reader(payload, 'DSP0277', 'secured record (pci_doe)');
  r.u32('SessionID');
  const length = r.u16('Length');
  const end = securedHeaderSize('pci_doe') + length;
  if (end > payload.length) {
    r.bytes(length, 'Ciphertext'); // throws 'truncated' with the position
  }
  const pad = payload.length - end;
  let zero = true;
  for (let i = end; i < payload.length; i++) zero &&= payload[i] === 0;
  if (pad > 3 || !zero) {
    throw new WireError(
      'DSP0277',
      'secured record (pci_doe)',
      '(end)',
      end,
      'trailing',
      `${pad} byte(s) after the record are not DOE dword padding`,
    );
  }
  return payload.slice(0, end);
}

// ---------------------------------------------------------------------------
// Plaintext inside the AEAD: AppDataLength u16 | app data | random padding.

export interface SecuredPlaintext {
  /** DOE: the bare SPDM message. MCTP: an MCTP message, 0x05 || SPDM message. */
  appData: Uint8Array;
  /** Random padding after the app data (empty for DOE as libspdm sends it). */
  padding: Uint8Array;
}

/**
 * Builds the plaintext the session layer encrypts.
 * @throws RangeError when the app data exceeds u16 or a DOE plaintext is given padding
 * (the DOE binding adds none).
 */
export function encodeSecuredPlaintext(binding: SecuredBinding, p: SecuredPlaintext): Uint8Array {
  if (binding === 'pci_doe' && p.padding.length !== 0) {
    throw new RangeError('padding: the PCI DOE binding adds no random padding');
  }
  return new Writer(2 + p.appData.length + p.padding.length)
    .u16(p.appData.length, 'AppDataLength')
    .bytes(p.appData)
    .bytes(p.padding)
    .finish();
}

/**
 * Splits a decrypted plaintext. Like libspdm, accepts any padding after the app data for
 * both bindings (it is covered by the MAC and carries no meaning).
 * @throws WireError 'truncated' when AppDataLength exceeds what follows.
 */
export function decodeSecuredPlaintext(
  binding: SecuredBinding,
  bytes: Uint8Array,
): SecuredPlaintext {
  const r = new Reader(bytes, 'DSP0277', `secured plaintext (${binding})`);
  const n = r.u16('AppDataLength');
  const appData = r.bytes(n, 'AppData');
  return { appData, padding: r.rest('Padding') };
}

/** The app data carrying one SPDM message: DOE the message itself, MCTP 0x05 || message. */
export function encodeSecuredAppData(binding: SecuredBinding, spdm: Uint8Array): Uint8Array {
  if (binding === 'pci_doe') return spdm.slice();
  const out = new Uint8Array(1 + spdm.length);
  out[0] = MCTP_MESSAGE_TYPE_SPDM;
  out.set(spdm, 1);
  return out;
}

/**
 * The SPDM message inside decrypted app data.
 * @throws WireError 'bad-field' when an MCTP app data is not of type 0x05 (or empty: 'truncated').
 */
export function decodeSecuredAppData(binding: SecuredBinding, appData: Uint8Array): Uint8Array {
  if (binding === 'pci_doe') return appData.slice();
  const r = new Reader(appData, 'DSP0277', 'secured app data (mctp)');
  const type = r.u8('MessageType');
  if (type !== MCTP_MESSAGE_TYPE_SPDM) {
    throw r.error('MessageType', 'bad-field', `0x${type.toString(16)} is not SPDM (0x05)`, 0);
  }
  return r.rest('SPDM message');
}
