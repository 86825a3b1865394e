/**
 * STOP_INTERFACE_REQUEST -> STOP_INTERFACE_RESPONSE (PCIe 6.x 11.3.16 / 11.3.17): from
 * any state (the 'spdm-emu' behaviour refuses it in CONFIG_UNLOCKED) back to
 * CONFIG_UNLOCKED, after scrubbing the function's device memory through the hardware.
 */
import { PCI_TDISP_STOP_INTERFACE_RSP } from '../../../wire/tdisp/constants.ts';
import type { StopInterfaceRequest } from '../../../wire/tdisp/messages.ts';
import { responseHeader, type TdispHandler, toUnlocked } from './common.ts';

export const handleStop: TdispHandler<StopInterfaceRequest> = (req, c) => {
  const { next, effects, events } = toUnlocked(c.tdi);
  return {
    kind: 'response',
    response: { ...responseHeader(req, c.env), code: PCI_TDISP_STOP_INTERFACE_RSP },
    next,
    effects,
    events,
  };
};
