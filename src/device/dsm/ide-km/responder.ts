/**
 * The IDE_KM responder (PCIe 6.x 6.33.3): a dispatch table from Object ID to handler, for
 * the messages that follow the PCI-SIG ProtocolID byte 0 of VENDOR_DEFINED_REQUEST.
 * IDE_KM belongs inside a secured SPDM session; in the 'spec' behaviour a request outside
 * one gets no response.
 */
import {
  ideKmObjectName,
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  PCI_IDE_KM_OBJECT_ID_QUERY,
} from '../../../wire/idekm/constants.ts';
import type { DsmState, Step } from '../state.ts';
import { type IdeKmContext, ideKmInvalid } from './common.ts';
import { handleKSet } from './k-set.ts';
import { handleKeyProg } from './key-prog.ts';
import { handleQuery } from './query.ts';

type IdeKmHandler = (s: DsmState, raw: Uint8Array, c: IdeKmContext) => Step;

const DISPATCH: Readonly<Record<number, IdeKmHandler>> = {
  [PCI_IDE_KM_OBJECT_ID_QUERY]: handleQuery,
  [PCI_IDE_KM_OBJECT_ID_KEY_PROG]: handleKeyProg,
  [PCI_IDE_KM_OBJECT_ID_K_SET_GO]: handleKSet,
  [PCI_IDE_KM_OBJECT_ID_K_SET_STOP]: handleKSet,
};

/** Answers one IDE_KM request. Never throws on peer bytes. */
export function ideKmRespond(s: DsmState, raw: Uint8Array, c: IdeKmContext): Step {
  if (c.session === undefined && c.env.behaviour.ideKmOutsideSession === 'silent') {
    return {
      state: s,
      result: { kind: 'silent' },
      effects: [],
      events: [{ kind: 'IGNORED', protocol: 'IDE_KM', reason: 'outside-session' }],
    };
  }
  if (raw.length === 0) return ideKmInvalid(s, c, 'none', 'empty message');
  const handler = DISPATCH[raw[0]];
  if (handler === undefined) return ideKmInvalid(s, c, ideKmObjectName(raw[0]), 'not a request');
  return handler(s, raw, c);
}
