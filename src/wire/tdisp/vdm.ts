/**
 * VDM_REQUEST (0x8B) / VDM_RESPONSE (0x0B): PCIe Base 6.x 11.3, vendor-defined TDISP
 * messages. Body: REGISTRY_ID u8 | VENDOR_ID_LEN u8 | VENDOR_ID | vendor data (the rest).
 */
import type { TdispFamilyCodec } from './codec.ts';
import type { PCI_TDISP_VDM_REQ, PCI_TDISP_VDM_RSP } from './constants.ts';
import { type TdispMsg, withBody } from './header.ts';

/** VDM_REQUEST / VDM_RESPONSE body: REGISTRY_ID u8, VENDOR_ID_LEN u8, VENDOR_ID, vendor data. */
export interface VdmBody {
  registryId: number;
  vendorId: Uint8Array;
  payload: Uint8Array;
}
export type VdmRequest = TdispMsg<typeof PCI_TDISP_VDM_REQ, VdmBody>;
export type VdmResponse = TdispMsg<typeof PCI_TDISP_VDM_RSP, VdmBody>;

function vdmCodec<M extends VdmRequest | VdmResponse>(name: string): TdispFamilyCodec<M> {
  return {
    name,
    decode(r, h) {
      const registryId = r.u8('REGISTRY_ID');
      const vendorId = r.bytes(r.u8('VENDOR_ID_LEN'), 'VENDOR_ID');
      return withBody<M>(h, { registryId, vendorId, payload: r.rest('VendorData') } as Omit<
        M,
        keyof TdispMsg<number>
      >);
    },
    encode(w, m) {
      w.u8(m.registryId, 'REGISTRY_ID')
        .u8(m.vendorId.length, 'VENDOR_ID_LEN')
        .bytes(m.vendorId)
        .bytes(m.payload);
    },
  };
}

export const vdmRequestCodec = vdmCodec<VdmRequest>('VDM_REQUEST');
export const vdmResponseCodec = vdmCodec<VdmResponse>('VDM_RESPONSE');
