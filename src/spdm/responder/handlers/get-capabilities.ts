/**
 * GET_CAPABILITIES -> CAPABILITIES (DSP0274 1.3 section 10.4; libspdm
 * libspdm_get_response_capabilities). The request's SPDMVersion becomes the connection's.
 * The requester's flags must be a combination DSP0274 allows
 * (libspdm_check_request_flag_compatibility) and, from 1.2, its DataTransferSize and
 * MaxSPDMmsgSize must be usable.
 */
import type { Capabilities, GetCapabilities } from '../../../wire/spdm/capabilities.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_CAPABILITIES,
  SPDM_ERROR_CODE,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
} from '../../../wire/spdm/constants.ts';
import { SPDM_MIN_DATA_TRANSFER_SIZE } from '../../config.ts';
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

/** DSP0274's rules on a requester's flag combinations (1.1 and later). */
export function requesterFlagsValid(flags: number, version: number): boolean {
  if (version < SPDM_VERSION_11) return true;
  const has = (bit: number) => (flags & bit) !== 0;
  const psk = (flags >>> 10) & 3;
  if (psk >= 2) return false; // a requester's PSK_CAP is 0 or 1
  const keyEx = has(SPDM_CAP.KEY_EX_CAP);
  const secure = has(SPDM_CAP.MAC_CAP) || has(SPDM_CAP.ENCRYPT_CAP);
  if (keyEx || psk === 1) {
    if (!secure) return false;
  } else if (
    secure ||
    has(SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP) ||
    has(SPDM_CAP.HBEAT_CAP) ||
    has(SPDM_CAP.KEY_UPD_CAP)
  ) {
    return false;
  }
  if (!keyEx && psk === 1 && has(SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP)) return false;
  const cert = has(SPDM_CAP.CERT_CAP);
  const pubKeyId = has(SPDM_CAP.PUB_KEY_ID_CAP);
  if (cert && pubKeyId) return false;
  if (!cert && !pubKeyId && (has(SPDM_CAP.CHAL_CAP) || has(SPDM_CAP.MUT_AUTH_CAP))) return false;
  if (has(SPDM_CAP.MUT_AUTH_CAP) && !keyEx && !has(SPDM_CAP.CHAL_CAP)) return false;
  if (version === SPDM_VERSION_11 && has(SPDM_CAP.MUT_AUTH_CAP) && !has(SPDM_CAP.ENCAP_CAP)) {
    return false;
  }
  return true;
}

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
  if (!requesterFlagsValid(flags, m.version)) return reject(SPDM_ERROR_CODE.InvalidRequest);
  if ((m.ctExponent ?? 0) > MAX_CT_EXPONENT) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const v12 = m.version >= SPDM_VERSION_12;
  const dts = m.dataTransferSize ?? 0;
  const max = m.maxSpdmMsgSize ?? 0;
  if (v12 && (dts < SPDM_MIN_DATA_TRANSFER_SIZE || max < dts)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
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
