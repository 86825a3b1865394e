/**
 * CXL_IDE_KM codec entry points (CXL 3.x 11.4): `encodeCxlIdeKm` and `decodeCxlIdeKm`,
 * dispatching on the Object ID through table.ts. An unknown Object ID decodes to
 * `{ kind: 'unknown', objectId, body }` and re-encodes byte-exactly. The bytes handled here
 * follow the ProtocolID byte of a VENDOR_DEFINED message with VendorID 0x1E98.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import { cxlIdeKmObjectName } from './constants.ts';
import type { CxlIdeKmKnownMessage, CxlIdeKmMessage } from './messages.ts';
import { CXL_IDE_KM_CODECS } from './table.ts';
import { cxlIdeKmUnknownCodec } from './unknown.ts';

export interface CxlIdeKmFamilyCodec<M extends CxlIdeKmMessage = CxlIdeKmKnownMessage> {
  name: string;
  /** Reads the object after its Object ID; must consume everything it owns. */
  decode(r: Reader, objectId: number): M;
  /** Writes the object after its Object ID. */
  encode(w: Writer, m: M): void;
}

/**
 * Decodes one CXL_IDE_KM object (the bytes after the ProtocolID byte).
 * @throws WireError on an empty or short input ('truncated'), extra bytes ('trailing') or a
 *   QUERY_RESP register block that is not whole dwords ('bad-field').
 */
export function decodeCxlIdeKm(bytes: Uint8Array): CxlIdeKmMessage {
  const r = new Reader(bytes, 'CXL_IDE_KM', 'message');
  const objectId = r.u8('ObjectID');
  r.msg = cxlIdeKmObjectName(objectId);
  const codec: CxlIdeKmFamilyCodec<CxlIdeKmMessage> =
    CXL_IDE_KM_CODECS[objectId] ?? cxlIdeKmUnknownCodec;
  const m = codec.decode(r, objectId);
  r.end();
  return m;
}

/**
 * Encodes one CXL_IDE_KM object (without the ProtocolID byte).
 * @throws RangeError when a field does not fit, a key is not 8 dwords or an IV not 3, or a
 *   known Object ID is given as the unknown case.
 */
export function encodeCxlIdeKm(m: CxlIdeKmMessage): Uint8Array {
  let codec: CxlIdeKmFamilyCodec<CxlIdeKmMessage>;
  if ('kind' in m) {
    if (CXL_IDE_KM_CODECS[m.objectId] !== undefined) {
      throw new RangeError(`unknown CXL_IDE_KM object with known Object ID ${m.objectId}`);
    }
    codec = cxlIdeKmUnknownCodec;
  } else {
    codec = CXL_IDE_KM_CODECS[m.objectId];
    if (codec === undefined) throw new RangeError(`no CXL_IDE_KM codec for id ${m.objectId}`);
  }
  const w = new Writer();
  w.u8(m.objectId, 'ObjectID');
  codec.encode(w, m);
  return w.finish();
}
