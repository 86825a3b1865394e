/**
 * GET_DEVICE_INTERFACE_STATE (0x85) / DEVICE_INTERFACE_STATE (0x05): PCIe Base 6.x 11.3.12 /
 * 11.3.13. The request is the header alone; the response carries TDI_STATE u8 (TDI_STATE;
 * other values kept as sent).
 */
import type { TdispFamilyCodec } from './codec.ts';
import type {
  PCI_TDISP_DEVICE_INTERFACE_STATE,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
} from './constants.ts';
import { headerOnlyCodec, type TdispMsg, withBody } from './header.ts';

export type GetDeviceInterfaceState = TdispMsg<typeof PCI_TDISP_GET_DEVICE_INTERFACE_STATE>;
export type DeviceInterfaceState = TdispMsg<
  typeof PCI_TDISP_DEVICE_INTERFACE_STATE,
  {
    /** TDI_STATE; unknown values kept. */
    tdiState: number;
  }
>;

export const getDeviceInterfaceStateCodec = headerOnlyCodec<GetDeviceInterfaceState>(
  'GET_DEVICE_INTERFACE_STATE',
);

export const deviceInterfaceStateCodec: TdispFamilyCodec<DeviceInterfaceState> = {
  name: 'DEVICE_INTERFACE_STATE',
  decode: (r, h) => withBody<DeviceInterfaceState>(h, { tdiState: r.u8('TDI_STATE') }),
  encode(w, m) {
    w.u8(m.tdiState, 'TDI_STATE');
  },
};
