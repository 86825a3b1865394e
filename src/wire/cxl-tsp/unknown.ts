/**
 * A TSP message whose opcode teeio has no codec for (the CKID / range key requests, CHECK /
 * DELAYED_RSP, anything undefined): the bytes after the header kept raw, so it re-encodes
 * byte-exactly; a responder answers it ERROR_RSP UNSUPPORTED_REQUEST.
 */
import type { Byte } from '../byte.ts';
import type { CxlTspFamilyCodec } from './codec.ts';
import type { CxlTspKnownMessage } from './messages.ts';

export interface CxlTspUnknown {
  kind: 'unknown';
  version: number;
  opCode: Exclude<Byte, CxlTspKnownMessage['opCode']>;
  body: Uint8Array;
}

export const cxlTspUnknownCodec: CxlTspFamilyCodec<CxlTspUnknown> = {
  name: 'unknown',
  decode: (r, version, opCode) => ({
    kind: 'unknown',
    version,
    opCode: opCode as CxlTspUnknown['opCode'],
    body: r.rest('body'),
  }),
  encode(w, m) {
    w.bytes(m.body);
  },
};
