/**
 * GET_MEASUREMENTS -> MEASUREMENTS (DSP0274 1.3 section 10.11; libspdm
 * libspdm_get_response_measurements). Count (operation 0), one index, or all blocks; raw bit
 * stream or digests; signed with L1/L2 = A || M (M alone in 1.0/1.1), where M collects
 * every GET_MEASUREMENTS / MEASUREMENTS since the last signed one (the session's own M
 * inside a session), after which M starts over.
 */
import { SPDM_SIGNING_CONTEXT } from '../../../crypto/signing.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_ERROR_CODE,
  SPDM_MEAS_ATTR_RAW_BIT_STREAM_REQUESTED,
  SPDM_MEAS_OP_ALL,
  SPDM_MEAS_OP_TOTAL_NUMBER,
  SPDM_MEASUREMENTS,
  SPDM_NONCE_SIZE,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
} from '../../../wire/spdm/constants.ts';
import {
  type GetMeasurements,
  type Measurements,
  signatureRequested,
} from '../../../wire/spdm/measurements.ts';
import { appendM, l1l2, resetM } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';
import { servedBlocks } from '../measurement-blocks.ts';

/** MEASUREMENTS Param2 bits 5:4 = 2: no change detected (what libspdm's sample reports). */
const CONTENT_NO_CHANGE = 2;

export function handleGetMeasurements(
  ctx: ResponderContext,
  req: HandlerRequest<GetMeasurements>,
): HandlerResult {
  const m = req.message;
  const n = ctx.negotiated();
  const a = n.algorithms;
  const signed = signatureRequested(m.attributes);
  const slotId = signed && n.version >= SPDM_VERSION_11 ? (m.slotIdParam ?? 0) & 0xf : 0;
  // validate: a signature only when we can sign measurements, from a provisioned slot.
  if (signed && (!ctx.weSupport(SPDM_CAP.MEAS_CAP_SIG) || !ctx.chain(slotId) || !a.suite.asym)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  if (a.measurementSpec === 0) return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  // process: which blocks.
  const raw = (m.attributes & SPDM_MEAS_ATTR_RAW_BIT_STREAM_REQUESTED) !== 0;
  const all = servedBlocks(ctx.config.measurements, a.measurementHashAlgo, raw);
  let blocks = all;
  let total = 0;
  if (m.operation === SPDM_MEAS_OP_TOTAL_NUMBER) {
    blocks = [];
    total = all.length;
  } else if (m.operation !== SPDM_MEAS_OP_ALL) {
    blocks = all.filter((b) => b.index === m.operation);
    // check state: the index exists.
    if (blocks.length === 0) return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  // respond
  const S = a.sizes.signatureSize;
  const rsp: Measurements = {
    version: n.version,
    code: SPDM_MEASUREMENTS,
    totalNumberOfMeasurements: total,
    slotId,
    contentChanged: n.version >= SPDM_VERSION_12 && signed ? CONTENT_NO_CHANGE : 0,
    blocks,
    nonce: ctx.config.random(SPDM_NONCE_SIZE),
    opaqueData: ctx.responseOpaqueData(),
    requesterContext: m.requesterContext,
    signature: signed ? new Uint8Array(S) : undefined,
  };
  const bytes = encodeSpdm(rsp, ctx.codec({ request: m }));
  // update: M, then L1/L2 signed and M reset.
  const t = ctx.transcript;
  const st = req.session?.transcript;
  appendM(t, req.bytes, st);
  if (!signed) {
    appendM(t, bytes, st);
    return respond(bytes);
  }
  appendM(t, bytes.subarray(0, bytes.length - S), st);
  bytes.set(ctx.sign(slotId, SPDM_SIGNING_CONTEXT.MEASUREMENTS, l1l2(t, st)), bytes.length - S);
  resetM(t, st);
  return respond(bytes);
}
