/**
 * A CXL_IDE_KM object whose Object ID teeio has no codec for (CXL 3.x 11.4 defines
 * 0x00..0x08). The bytes after the Object ID are kept raw so the object re-encodes
 * byte-exactly.
 */
import type { Byte } from '../byte.ts';
import type { CxlIdeKmFamilyCodec } from './codec.ts';
import type { CxlIdeKmKnownMessage } from './messages.ts';

export interface CxlIdeKmUnknown {
  kind: 'unknown';
  objectId: Exclude<Byte, CxlIdeKmKnownMessage['objectId']>;
  /** Everything after the Object ID byte. */
  body: Uint8Array;
}

export const cxlIdeKmUnknownCodec: CxlIdeKmFamilyCodec<CxlIdeKmUnknown> = {
  name: 'unknown',
  decode: (r, objectId) => ({
    kind: 'unknown',
    objectId: objectId as CxlIdeKmUnknown['objectId'],
    body: r.rest('body'),
  }),
  encode(w, m) {
    w.bytes(m.body);
  },
};
