/**
 * TDISP message codec entry points (PCIe Base 6.x chapter 11): `encodeTdisp` and
 * `decodeTdisp`, dispatching on the header's MessageType through the table in table.ts
 * (one entry per family file). A MessageType the table does not know decodes to
 * `{ kind: 'unknown', ..., body }` and re-encodes byte-exactly (STYLE.md convention 4).
 *
 * The bytes handled here are the TDISP message that follows the ProtocolID byte of the
 * PCI-SIG vendor-defined wrapper (WIRE.md "PCI-SIG vendor-defined wrapper"). The header
 * version is kept as sent: whether 0x10 is acceptable is the responder's decision
 * (it answers VersionMismatch), not the codec's.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import { tdispMessageName } from './constants.ts';
import { readTdispHeader, type TdispHeader, writeTdispHeader } from './header.ts';
import type { TdispKnownMessage, TdispMessage } from './messages.ts';
import { TDISP_CODECS } from './table.ts';
import { tdispUnknownCodec } from './unknown.ts';

/** How one message family encodes and decodes the body after the 16-byte header. */
export interface TdispFamilyCodec<M extends TdispMessage = TdispKnownMessage> {
  name: string;
  /** Reads the body; `h` (the decoded header) becomes the message object. */
  decode(r: Reader, h: TdispHeader): M;
  /** Writes the body; the header is already written. */
  encode(w: Writer, m: M): void;
}

/**
 * Decodes one TDISP message (the bytes after the ProtocolID byte).
 * @throws WireError on a short message ('truncated'), a PortionLength that disagrees with
 *   the bytes ('bad-field'), or extra bytes ('trailing'). An unknown MessageType is not an
 *   error: it decodes to the unknown case.
 */
export function decodeTdisp(bytes: Uint8Array): TdispMessage {
  const r = new Reader(bytes, 'TDISP', 'header');
  const h = readTdispHeader(r);
  r.msg = tdispMessageName(h.code);
  const codec: TdispFamilyCodec<TdispMessage> = TDISP_CODECS[h.code] ?? tdispUnknownCodec;
  const m = codec.decode(r, h);
  r.end();
  return m;
}

/**
 * Encodes one TDISP message (without the ProtocolID byte).
 * @throws RangeError when a field does not fit, a fixed-size field has the wrong length,
 *   a TDISP_ERROR carries both raw and vendor extended data, or a known MessageType is
 *   given as the unknown case (it would not decode back the same way).
 */
export function encodeTdisp(m: TdispMessage): Uint8Array {
  let codec: TdispFamilyCodec<TdispMessage>;
  if ('kind' in m) {
    if (TDISP_CODECS[m.code] !== undefined) {
      throw new RangeError(`unknown TDISP message with known MessageType 0x${m.code.toString(16)}`);
    }
    codec = tdispUnknownCodec;
  } else {
    codec = TDISP_CODECS[m.code];
    if (codec === undefined) throw new RangeError(`no TDISP codec for message type ${m.code}`);
  }
  const w = new Writer();
  writeTdispHeader(w, m);
  codec.encode(w, m);
  return w.finish();
}
