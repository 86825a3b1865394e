/**
 * GET_DEVICE_INTERFACE_REPORT (0x84) / DEVICE_INTERFACE_REPORT (0x04): PCIe Base 6.x
 * 11.3.10 / 11.3.11. Request: OFFSET u16 | LENGTH u16. Response: PORTION_LENGTH u16 |
 * REMAINDER_LENGTH u16 | the portion of the TDI report (report.ts decodes the whole report
 * once the portions are reassembled).
 */
import type { TdispFamilyCodec } from './codec.ts';
import type {
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
} from './constants.ts';
import { type TdispMsg, withBody } from './header.ts';

export type GetDeviceInterfaceReport = TdispMsg<
  typeof PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  { offset: number; length: number }
>;
export type DeviceInterfaceReport = TdispMsg<
  typeof PCI_TDISP_DEVICE_INTERFACE_REPORT,
  {
    /** The report bytes of this portion; PortionLength on the wire is their count. */
    portion: Uint8Array;
    remainderLength: number;
  }
>;

export const getDeviceInterfaceReportCodec: TdispFamilyCodec<GetDeviceInterfaceReport> = {
  name: 'GET_DEVICE_INTERFACE_REPORT',
  decode: (r, h) =>
    withBody<GetDeviceInterfaceReport>(h, { offset: r.u16('OFFSET'), length: r.u16('LENGTH') }),
  encode(w, m) {
    w.u16(m.offset, 'OFFSET').u16(m.length, 'LENGTH');
  },
};

export const deviceInterfaceReportCodec: TdispFamilyCodec<DeviceInterfaceReport> = {
  name: 'DEVICE_INTERFACE_REPORT',
  decode(r, h) {
    const portionAt = r.offset;
    const portionLength = r.u16('PORTION_LENGTH');
    const remainderLength = r.u16('REMAINDER_LENGTH');
    if (portionLength !== r.remaining) {
      throw r.error(
        'PORTION_LENGTH',
        portionLength > r.remaining ? 'truncated' : 'bad-field',
        `${portionLength} but ${r.remaining} report bytes follow`,
        portionAt,
      );
    }
    return withBody<DeviceInterfaceReport>(h, { portion: r.rest('REPORT'), remainderLength });
  },
  encode(w, m) {
    w.u16(m.portion.length, 'PORTION_LENGTH')
      .u16(m.remainderLength, 'REMAINDER_LENGTH')
      .bytes(m.portion);
  },
};
