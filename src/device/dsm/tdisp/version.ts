/**
 * GET_TDISP_VERSION -> TDISP_VERSION (PCIe 6.x 11.3.4 / 11.3.5): the DSM speaks TDISP 1.0.
 * In the 'spdm-emu' behaviour the request also re-creates the interface context, so the
 * TDI is back in CONFIG_UNLOCKED (scrubbed like a STOP, so no guest data survives it).
 */
import { PCI_TDISP_MESSAGE_VERSION_10, PCI_TDISP_VERSION } from '../../../wire/tdisp/constants.ts';
import type { GetTdispVersion } from '../../../wire/tdisp/messages.ts';
import { responseHeader, type TdispHandler, toUnlocked } from './common.ts';

export const handleGetVersion: TdispHandler<GetTdispVersion> = (req, c) => {
  const response = {
    ...responseHeader(req, c.env),
    code: PCI_TDISP_VERSION,
    versions: [PCI_TDISP_MESSAGE_VERSION_10],
  } as const;
  if (!c.env.behaviour.versionRecreatesInterface) return { kind: 'response', response };
  const { next, effects, events } = toUnlocked(c.tdi);
  return { kind: 'response', response, next, effects, events };
};
