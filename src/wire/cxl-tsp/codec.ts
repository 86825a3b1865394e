/**
 * CXL TSP codec entry points (CXL 3.x 11.5): `encodeCxlTsp` / `decodeCxlTsp`, dispatching on
 * the Opcode (byte 1, after TSPVersion) through table.ts. An opcode without a codec (the key
 * programming requests, DELAYED_RSP, ...) decodes to `{ kind: 'unknown', version, opCode,
 * body }` and re-encodes byte-exactly. The bytes handled here follow ProtocolID 1 of a
 * VENDOR_DEFINED message with the CXL VendorID.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import { cxlTspOpcodeName } from './constants.ts';
import type { CxlTspKnownMessage, CxlTspMessage } from './messages.ts';
import { CXL_TSP_CODECS } from './table.ts';
import { cxlTspUnknownCodec } from './unknown.ts';

export interface CxlTspFamilyCodec<M extends CxlTspMessage = CxlTspKnownMessage> {
  name: string;
  /** Reads what follows TSPVersion and Opcode; must consume everything it owns. */
  decode(r: Reader, version: number, opCode: number): M;
  /** Writes what follows TSPVersion and Opcode. */
  encode(w: Writer, m: M): void;
}

/**
 * Decodes one TSP message.
 * @throws WireError when it is shorter than its layout ('truncated'), longer ('trailing'),
 *   or a count does not match the bytes ('bad-field'). An unknown opcode is not an error.
 */
export function decodeCxlTsp(bytes: Uint8Array): CxlTspMessage {
  const r = new Reader(bytes, 'CXL_TSP', 'message');
  const version = r.u8('TSPVersion');
  const opCode = r.u8('Opcode');
  r.msg = cxlTspOpcodeName(opCode);
  const codec: CxlTspFamilyCodec<CxlTspMessage> = CXL_TSP_CODECS[opCode] ?? cxlTspUnknownCodec;
  const m = codec.decode(r, version, opCode);
  r.end();
  return m;
}

/**
 * Encodes one TSP message.
 * @throws RangeError when a field does not fit, or a known opcode is given as unknown.
 */
export function encodeCxlTsp(m: CxlTspMessage): Uint8Array {
  let codec: CxlTspFamilyCodec<CxlTspMessage>;
  if ('kind' in m) {
    if (CXL_TSP_CODECS[m.opCode] !== undefined) {
      throw new RangeError(`unknown CXL TSP message with known opcode 0x${m.opCode.toString(16)}`);
    }
    codec = cxlTspUnknownCodec;
  } else {
    codec = CXL_TSP_CODECS[m.opCode];
    if (codec === undefined)
      throw new RangeError(`no CXL TSP codec for 0x${m.opCode.toString(16)}`);
  }
  const w = new Writer();
  w.u8(m.version, 'TSPVersion').u8(m.opCode, 'Opcode');
  codec.encode(w, m);
  return w.finish();
}
