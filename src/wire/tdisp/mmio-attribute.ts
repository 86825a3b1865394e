/**
 * SET_MMIO_ATTRIBUTE_REQUEST (0x8A) / SET_MMIO_ATTRIBUTE_RESPONSE (0x0A): PCIe Base 6.x
 * 11.3.22 / 11.3.23. The request carries one 16-byte MMIO_RANGE (report.ts's layout); the
 * response is the header alone.
 */
import type { TdispFamilyCodec } from './codec.ts';
import type {
  PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
} from './constants.ts';
import { headerOnlyCodec, type TdispMsg, withBody } from './header.ts';
import { type MmioRange, readMmioRange, writeMmioRange } from './report.ts';

export type SetMmioAttributeRequest = TdispMsg<
  typeof PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  { mmioRange: MmioRange }
>;
export type SetMmioAttributeResponse = TdispMsg<typeof PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP>;

export const setMmioAttributeRequestCodec: TdispFamilyCodec<SetMmioAttributeRequest> = {
  name: 'SET_MMIO_ATTRIBUTE_REQUEST',
  decode: (r, h) => withBody<SetMmioAttributeRequest>(h, { mmioRange: readMmioRange(r) }),
  encode(w, m) {
    writeMmioRange(w, m.mmioRange);
  },
};
export const setMmioAttributeResponseCodec = headerOnlyCodec<SetMmioAttributeResponse>(
  'SET_MMIO_ATTRIBUTE_RESPONSE',
);
