/**
 * STOP_INTERFACE_REQUEST (0x87) / STOP_INTERFACE_RESPONSE (0x07): PCIe Base 6.x 11.3.16 /
 * 11.3.17. Both are the header alone.
 */
import type { PCI_TDISP_STOP_INTERFACE_REQ, PCI_TDISP_STOP_INTERFACE_RSP } from './constants.ts';
import { headerOnlyCodec, type TdispMsg } from './header.ts';

export type StopInterfaceRequest = TdispMsg<typeof PCI_TDISP_STOP_INTERFACE_REQ>;
export type StopInterfaceResponse = TdispMsg<typeof PCI_TDISP_STOP_INTERFACE_RSP>;

export const stopInterfaceRequestCodec =
  headerOnlyCodec<StopInterfaceRequest>('STOP_INTERFACE_REQUEST');
export const stopInterfaceResponseCodec =
  headerOnlyCodec<StopInterfaceResponse>('STOP_INTERFACE_RESPONSE');
