/**
 * GET_CAPABILITIES / CAPABILITIES from the requester's side (DSP0274 1.3 section 10.4;
 * libspdm libspdm_req_get_capabilities.c): sends our flags, CTExponent and (1.2+) buffer
 * sizes, and checks the responder's flags for combinations DSP0274 forbids, as libspdm's
 * libspdm_validate_responder_capability_flags does, and its 1.2+ sizes.
 */

import type { Capabilities, GetCapabilities } from '../../wire/spdm/capabilities.ts';
import { decodeSpdm, encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_CAPABILITIES,
  SPDM_GET_CAPABILITIES,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
} from '../../wire/spdm/constants.ts';
import { SPDM_MIN_DATA_TRANSFER_SIZE } from '../config.ts';
import { appendA, resetForRequest } from '../transcript.ts';
import type { PeerCapabilities, RequesterCore } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';

const MEAS_CAP_MASK = SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG;
const PSK_CAP_MASK = SPDM_CAP.PSK_CAP_RESPONDER | SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT;

/** Why a responder's CAPABILITIES cannot be right, or undefined when it can. */
export function responderCapabilityProblem(
  c: PeerCapabilities,
  version: number,
): string | undefined {
  const f = c.flags;
  const has = (bit: number) => (f & bit) !== 0;
  if ((f & MEAS_CAP_MASK) === MEAS_CAP_MASK) return 'MEAS_CAP is the reserved value 11b';
  if ((f & PSK_CAP_MASK) === PSK_CAP_MASK) return 'PSK_CAP is the reserved value 11b';
  if (version >= SPDM_VERSION_11) {
    const session = has(SPDM_CAP.KEY_EX_CAP) || (f & PSK_CAP_MASK) !== 0;
    const protect = has(SPDM_CAP.ENCRYPT_CAP) || has(SPDM_CAP.MAC_CAP);
    if (session !== protect)
      return 'KEY_EX_CAP / PSK_CAP and ENCRYPT_CAP / MAC_CAP must go together';
    if (has(SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP) && !has(SPDM_CAP.KEY_EX_CAP)) {
      return 'HANDSHAKE_IN_THE_CLEAR_CAP without KEY_EX_CAP';
    }
    if (has(SPDM_CAP.CERT_CAP) && has(SPDM_CAP.PUB_KEY_ID_CAP)) {
      return 'CERT_CAP and PUB_KEY_ID_CAP are exclusive';
    }
  }
  if (version >= SPDM_VERSION_12) {
    const dts = c.dataTransferSize ?? 0;
    const max = c.maxSpdmMsgSize ?? 0;
    if (dts < SPDM_MIN_DATA_TRANSFER_SIZE) return `DataTransferSize ${dts} is below 42`;
    if (max < dts) return `MaxSPDMmsgSize ${max} is below DataTransferSize ${dts}`;
    if (!has(SPDM_CAP.CHUNK_CAP) && max !== dts) {
      return `MaxSPDMmsgSize ${max} differs from DataTransferSize ${dts} without CHUNK_CAP`;
    }
  }
  return undefined;
}

/**
 * Runs GET_CAPABILITIES.
 * @throws SpdmUsageError before VERSION; SpdmVerifyError 'capabilities'; whatever
 *   `exchange` throws.
 */
export async function getCapabilities(core: RequesterCore): Promise<PeerCapabilities> {
  // -- check state
  const c = core.conn;
  if (c.state !== 'AFTER_VERSION') {
    throw new SpdmUsageError(`GET_CAPABILITIES needs a fresh VERSION (connection is ${c.state})`);
  }
  const v = c.version;
  const cfg = core.config;

  // -- request / response
  const req: GetCapabilities = { version: v, code: SPDM_GET_CAPABILITIES, param1: 0 };
  if (v >= SPDM_VERSION_11) {
    req.ctExponent = cfg.ctExponent;
    req.flags = cfg.capabilities >>> 0;
  }
  if (v >= SPDM_VERSION_12) {
    req.dataTransferSize = cfg.dataTransferSize;
    req.maxSpdmMsgSize = cfg.maxSpdmMsgSize;
  }
  const request = encodeSpdm(req);
  resetForRequest(core.transcript, SPDM_GET_CAPABILITIES, false);
  const { value, bytes } = await exchange(core, request, {
    code: SPDM_CAPABILITIES,
    version: v,
    decode: (b) => decodeSpdm(b, { version: v, request: req }) as Capabilities,
  });

  // -- verify
  const peer: PeerCapabilities = {
    flags: value.flags >>> 0,
    ctExponent: value.ctExponent,
    dataTransferSize: value.dataTransferSize,
    maxSpdmMsgSize: value.maxSpdmMsgSize,
  };
  const problem = responderCapabilityProblem(peer, v);
  core.verified('capabilities', problem === undefined);
  if (problem) throw new SpdmVerifyError('capabilities', problem);

  // -- update
  appendA(core.transcript, request);
  appendA(core.transcript, bytes);
  core.setState({ state: 'AFTER_CAPABILITIES', version: v, peer, localFlags: req.flags ?? 0 });
  return peer;
}
