/**
 * An IDE_KM object whose Object ID teeio has no codec for (PCIe Base 6.x 6.33.3 defines
 * 0x00..0x06). The bytes after the Object ID are kept raw so the object re-encodes
 * byte-exactly; a responder answers it as a request it cannot serve (SPDM ERROR
 * InvalidRequest, WIRE.md "PCI-SIG vendor-defined wrapper").
 */
import type { Byte } from '../byte.ts';
import type { IdeKmFamilyCodec } from './codec.ts';
import type { IdeKmKnownMessage } from './messages.ts';

export interface IdeKmUnknown {
  kind: 'unknown';
  /** An Object ID without a codec (typed so that known ids narrow past this case). */
  objectId: Exclude<Byte, IdeKmKnownMessage['objectId']>;
  /** Everything after the Object ID byte. */
  body: Uint8Array;
}

export const ideKmUnknownCodec: IdeKmFamilyCodec<IdeKmUnknown> = {
  name: 'unknown',
  decode: (r, objectId) => ({
    kind: 'unknown',
    objectId: objectId as IdeKmUnknown['objectId'],
    body: r.rest('body'),
  }),
  encode(w, m) {
    w.bytes(m.body);
  },
};
