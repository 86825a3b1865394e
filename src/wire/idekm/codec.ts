/**
 * IDE_KM codec entry points (PCIe Base 6.x 6.33.3): `encodeIdeKm` and `decodeIdeKm`,
 * dispatching on the Object ID (the first byte) through the table in table.ts. An Object ID
 * the table does not know decodes to `{ kind: 'unknown', objectId, body }` and re-encodes
 * byte-exactly (STYLE.md convention 4).
 *
 * The bytes handled here are the IDE_KM object that follows the ProtocolID byte of the
 * PCI-SIG vendor-defined wrapper (WIRE.md "PCI-SIG vendor-defined wrapper").
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import { ideKmObjectName } from './constants.ts';
import type { KeyOrder } from './key-prog.ts';
import type { IdeKmKnownMessage, IdeKmMessage } from './messages.ts';
import { IDE_KM_CODECS } from './table.ts';
import { ideKmUnknownCodec } from './unknown.ts';

export interface IdeKmCodecOptions {
  keyOrder?: KeyOrder;
}

/** How one object family encodes and decodes what follows the Object ID byte. */
export interface IdeKmFamilyCodec<M extends IdeKmMessage = IdeKmKnownMessage> {
  name: string;
  /** Reads the object after its Object ID; must consume everything it owns. */
  decode(r: Reader, objectId: number, opts: IdeKmCodecOptions): M;
  /** Writes the object after its Object ID. */
  encode(w: Writer, m: M, opts: IdeKmCodecOptions): void;
}

/**
 * Decodes one IDE_KM object (the bytes after the ProtocolID byte).
 * @throws WireError on an empty input ('truncated'), a short object ('truncated'), extra
 *   bytes ('trailing') or a QUERY_RESP register block that is not a whole number of dwords
 *   ('bad-field'). An unknown Object ID is not an error: it decodes to the unknown case.
 */
export function decodeIdeKm(bytes: Uint8Array, opts: IdeKmCodecOptions = {}): IdeKmMessage {
  const r = new Reader(bytes, 'IDE_KM', 'message');
  const objectId = r.u8('ObjectID');
  r.msg = ideKmObjectName(objectId);
  const codec: IdeKmFamilyCodec<IdeKmMessage> = IDE_KM_CODECS[objectId] ?? ideKmUnknownCodec;
  const m = codec.decode(r, objectId, opts);
  r.end();
  return m;
}

/**
 * Encodes one IDE_KM object (without the ProtocolID byte).
 * @throws RangeError when a field does not fit, a key is not 8 dwords or an IFV not 2, or a
 *   known Object ID is given as the unknown case (it would not decode back the same way).
 */
export function encodeIdeKm(m: IdeKmMessage, opts: IdeKmCodecOptions = {}): Uint8Array {
  let codec: IdeKmFamilyCodec<IdeKmMessage>;
  if ('kind' in m) {
    if (IDE_KM_CODECS[m.objectId] !== undefined) {
      throw new RangeError(`unknown IDE_KM object with known Object ID ${m.objectId}`);
    }
    codec = ideKmUnknownCodec;
  } else {
    codec = IDE_KM_CODECS[m.objectId];
    if (codec === undefined) throw new RangeError(`no IDE_KM codec for object id ${m.objectId}`);
  }
  const w = new Writer();
  w.u8(m.objectId, 'ObjectID');
  codec.encode(w, m, opts);
  return w.finish();
}
