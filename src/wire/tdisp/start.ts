/**
 * START_INTERFACE_REQUEST (0x86) / START_INTERFACE_RESPONSE (0x06): PCIe Base 6.x 11.3.14 /
 * 11.3.15. The request carries the START_INTERFACE_NONCE of LOCK_INTERFACE_RESPONSE; the
 * response is the header alone.
 */
import type { PCI_TDISP_START_INTERFACE_REQ, PCI_TDISP_START_INTERFACE_RSP } from './constants.ts';
import { headerOnlyCodec, type TdispMsg } from './header.ts';
import { nonceCodec } from './lock.ts';

export type StartInterfaceRequest = TdispMsg<
  typeof PCI_TDISP_START_INTERFACE_REQ,
  { startInterfaceNonce: Uint8Array }
>;
export type StartInterfaceResponse = TdispMsg<typeof PCI_TDISP_START_INTERFACE_RSP>;

export const startInterfaceRequestCodec =
  nonceCodec<StartInterfaceRequest>('START_INTERFACE_REQUEST');
export const startInterfaceResponseCodec = headerOnlyCodec<StartInterfaceResponse>(
  'START_INTERFACE_RESPONSE',
);
