/**
 * A TDISP message whose MessageType teeio has no codec for (the codes PCIe Base 6.x 11.3
 * leaves reserved). The header decodes as for every message; the body is kept raw so the
 * message re-encodes byte-exactly and a responder can answer it with TDISP_ERROR
 * UNSUPPORTED_REQUEST (ErrorData = the MessageType).
 */
import type { Byte } from '../byte.ts';
import type { TdispFamilyCodec } from './codec.ts';
import type { TdispHeader } from './header.ts';
import type { TdispKnownMessage } from './messages.ts';

export interface TdispUnknown extends TdispHeader {
  kind: 'unknown';
  /** A MessageType without a codec (typed so that known codes narrow past this case). */
  code: Exclude<Byte, TdispKnownMessage['code']>;
  /** Everything after the 16-byte header. */
  body: Uint8Array;
}

export const tdispUnknownCodec: TdispFamilyCodec<TdispUnknown> = {
  name: 'unknown',
  decode(r, h) {
    return Object.assign(h, { kind: 'unknown' as const, body: r.rest('body') }) as TdispUnknown;
  },
  encode(w, m) {
    w.bytes(m.body);
  },
};
