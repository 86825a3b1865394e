/**
 * GET_TDISP_VERSION (0x81) / TDISP_VERSION (0x01): PCIe Base 6.x 11.3.4 / 11.3.5. The request
 * is the header alone; the response lists VERSION_NUM_ENTRY bytes after a count byte.
 */
import type { TdispFamilyCodec } from './codec.ts';
import type { PCI_TDISP_GET_VERSION, PCI_TDISP_VERSION } from './constants.ts';
import { headerOnlyCodec, type TdispMsg, withBody } from './header.ts';

export type GetTdispVersion = TdispMsg<typeof PCI_TDISP_GET_VERSION>;
export type TdispVersion = TdispMsg<
  typeof PCI_TDISP_VERSION,
  {
    /** VERSION_NUM_ENTRY bytes (major << 4 | minor); the count byte is their number. */
    versions: readonly number[];
  }
>;

export const getTdispVersionCodec = headerOnlyCodec<GetTdispVersion>('GET_TDISP_VERSION');

export const tdispVersionCodec: TdispFamilyCodec<TdispVersion> = {
  name: 'TDISP_VERSION',
  decode(r, h) {
    const count = r.u8('VERSION_NUM_COUNT');
    const versions: number[] = new Array(count);
    for (let i = 0; i < count; i++) versions[i] = r.u8('VERSION_NUM_ENTRY');
    return withBody<TdispVersion>(h, { versions });
  },
  encode(w, m) {
    w.u8(m.versions.length, 'VERSION_NUM_COUNT');
    for (const v of m.versions) w.u8(v, 'VERSION_NUM_ENTRY');
  },
};
