/**
 * The CXL_IDE_KM responder (CXL 3.x 11.4): a dispatch table from Object ID to handler, for
 * the messages that follow ProtocolID 0 of a VENDOR_DEFINED_REQUEST with the CXL VendorID
 * 0x1E98. Like IDE_KM it belongs inside a secured SPDM session; in the 'spec' behaviour a
 * request outside one gets no response. An Object ID that is not a request is answered
 * with SPDM ERROR InvalidRequest.
 */
import {
  CXL_IDE_KM_OBJECT_ID_GET_KEY,
  CXL_IDE_KM_OBJECT_ID_K_SET_GO,
  CXL_IDE_KM_OBJECT_ID_K_SET_STOP,
  CXL_IDE_KM_OBJECT_ID_KEY_PROG,
  CXL_IDE_KM_OBJECT_ID_QUERY,
  cxlIdeKmObjectName,
} from '../../../wire/cxl-idekm/constants.ts';
import type { DsmState, Step } from '../state.ts';
import { type CxlIdeKmContext, cxlInvalid } from './common.ts';
import { handleCxlGetKey } from './get-key.ts';
import { handleCxlKSet } from './k-set.ts';
import { handleCxlKeyProg } from './key-prog.ts';
import { handleCxlQuery } from './query.ts';

type CxlIdeKmHandler = (s: DsmState, raw: Uint8Array, c: CxlIdeKmContext) => Step;

const DISPATCH: Readonly<Record<number, CxlIdeKmHandler>> = {
  [CXL_IDE_KM_OBJECT_ID_QUERY]: handleCxlQuery,
  [CXL_IDE_KM_OBJECT_ID_KEY_PROG]: handleCxlKeyProg,
  [CXL_IDE_KM_OBJECT_ID_K_SET_GO]: handleCxlKSet,
  [CXL_IDE_KM_OBJECT_ID_K_SET_STOP]: handleCxlKSet,
  [CXL_IDE_KM_OBJECT_ID_GET_KEY]: handleCxlGetKey,
};

/** Answers one CXL_IDE_KM request. Never throws on peer bytes. */
export function cxlIdeKmRespond(s: DsmState, raw: Uint8Array, c: CxlIdeKmContext): Step {
  if (c.session === undefined && c.env.behaviour.ideKmOutsideSession === 'silent') {
    return {
      state: s,
      result: { kind: 'silent' },
      effects: [],
      events: [{ kind: 'IGNORED', protocol: 'CXL_IDE_KM', reason: 'outside-session' }],
    };
  }
  if (raw.length === 0) return cxlInvalid(s, c, 'none', 'empty message');
  const handler = DISPATCH[raw[0]];
  if (handler === undefined) return cxlInvalid(s, c, cxlIdeKmObjectName(raw[0]), 'not a request');
  return handler(s, raw, c);
}
