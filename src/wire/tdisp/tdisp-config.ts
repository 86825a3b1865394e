/**
 * SET_TDISP_CONFIG_REQUEST (0x8C) / SET_TDISP_CONFIG_RESPONSE (0x0C): TDISP 1.1 (XT mode).
 * The request carries DSM_CONFIG u32; the response is the header alone.
 */
import type { TdispFamilyCodec } from './codec.ts';
import type {
  PCI_TDISP_SET_TDISP_CONFIG_REQ,
  PCI_TDISP_SET_TDISP_CONFIG_RSP,
} from './constants.ts';
import { headerOnlyCodec, type TdispMsg, withBody } from './header.ts';

export type SetTdispConfigRequest = TdispMsg<
  typeof PCI_TDISP_SET_TDISP_CONFIG_REQ,
  { dsmConfig: number }
>;
export type SetTdispConfigResponse = TdispMsg<typeof PCI_TDISP_SET_TDISP_CONFIG_RSP>;

export const setTdispConfigRequestCodec: TdispFamilyCodec<SetTdispConfigRequest> = {
  name: 'SET_TDISP_CONFIG_REQUEST',
  decode: (r, h) => withBody<SetTdispConfigRequest>(h, { dsmConfig: r.u32('DSM_CONFIG') }),
  encode(w, m) {
    w.u32(m.dsmConfig, 'DSM_CONFIG');
  },
};
export const setTdispConfigResponseCodec = headerOnlyCodec<SetTdispConfigResponse>(
  'SET_TDISP_CONFIG_RESPONSE',
);
