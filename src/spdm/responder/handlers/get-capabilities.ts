/**
 * GET_CAPABILITIES -> CAPABILITIES (DSP0274 1.3 section 10.4; libspdm
 * libspdm_get_response_capabilities). The request's SPDMVersion becomes the connection's.
 * The requester's flags must be a combination DSP0274 allows and, from 1.2, its
 * DataTransferSize and MaxSPDMmsgSize must fit together (capability-rules.ts), else
 * InvalidRequest.
 */
import type { Capabilities, GetCapabilities } from '../../../wire/spdm/capabilities.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_CAPABILITIES,
  SPDM_ERROR_CODE,
  SPDM_VERSION_12,
} from '../../../wire/spdm/constants.ts';
import { capabilityFlagsProblem, transferSizeProblem } from '../../capability-rules.ts';
import { appendA } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

/** libspdm's LIBSPDM_MAX_CT_EXPONENT. */
const MAX_CT_EXPONENT = 31;

export function handleGetCapabilities(
  ctx: ResponderContext,
  req: HandlerRequest<GetCapabilities>,
): HandlerResult {
  const m = req.message;
  // validate: a version we speak, sane flags and sizes.
  if (!ctx.config.versions.includes(m.version)) return reject(SPDM_ERROR_CODE.VersionMismatch);
  // check state: right after VERSION, outside any session.
  if (ctx.state.state !== 'AFTER_VERSION' || req.session) {
    return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  }
  const flags = m.flags ?? 0;
  const dts = m.dataTransferSize ?? 0;
  const max = m.maxSpdmMsgSize ?? 0;
  if (
    capabilityFlagsProblem(flags, 'requester', m.version) ||
    transferSizeProblem(flags, dts, max, m.version)
  ) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  if ((m.ctExponent ?? 0) > MAX_CT_EXPONENT) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const v12 = m.version >= SPDM_VERSION_12;
  // respond
  const c = ctx.config;
  const rsp: Capabilities = {
    version: m.version,
    code: SPDM_CAPABILITIES,
    param1: 0,
    ctExponent: c.ctExponent,
    flags: c.capabilities,
  };
  if (v12) {
    rsp.dataTransferSize = c.dataTransferSize;
    rsp.maxSpdmMsgSize = c.maxSpdmMsgSize;
  }
  const bytes = encodeSpdm(rsp);
  // update
  appendA(ctx.transcript, req.bytes);
  appendA(ctx.transcript, bytes);
  ctx.setState({
    state: 'AFTER_CAPABILITIES',
    version: m.version,
    peer: { flags, ctExponent: m.ctExponent ?? 0, dataTransferSize: dts, maxSpdmMsgSize: max },
  });
  return respond(bytes);
}
