/** GET_DEVICE_INTERFACE_STATE -> DEVICE_INTERFACE_STATE (PCIe 6.x 11.3.12 / 11.3.13). */
import { PCI_TDISP_DEVICE_INTERFACE_STATE } from '../../../wire/tdisp/constants.ts';
import type { GetDeviceInterfaceState } from '../../../wire/tdisp/messages.ts';
import { TDI_STATE_CODE } from '../tdi.ts';
import { responseHeader, type TdispHandler } from './common.ts';

export const handleGetState: TdispHandler<GetDeviceInterfaceState> = (req, c) => ({
  kind: 'response',
  response: {
    ...responseHeader(req, c.env),
    code: PCI_TDISP_DEVICE_INTERFACE_STATE,
    tdiState: TDI_STATE_CODE[c.tdi.state],
  },
});
