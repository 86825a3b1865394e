/**
 * VENDOR_DEFINED_REQUEST -> VENDOR_DEFINED_RESPONSE (DSP0274 1.3 section 10.24), with the
 * protocols under the PCI-SIG registry (IDE_KM, TDISP; CXL_IDE_KM, TSP) dispatched through src/spdm/vendor.ts by (StandardID,
 * VendorID, ProtocolID = the first payload byte). The response mirrors the request's
 * StandardID and VendorID and starts with the same ProtocolID. An unregistered protocol
 * gets UnsupportedRequest; a handler may answer an SPDM ERROR or nothing at all.
 */
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_ERROR_CODE, SPDM_VENDOR_DEFINED_RESPONSE } from '../../../wire/spdm/constants.ts';
import type {
  VendorDefinedRequest,
  VendorDefinedResponse,
} from '../../../wire/spdm/vendor-defined.ts';
import type { VendorHandlerResult } from '../../vendor.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

/** Largest payload RespLength can describe. */
const MAX_PAYLOAD = 0xffff;

export function handleVendorDefined(
  ctx: ResponderContext,
  req: HandlerRequest<VendorDefinedRequest>,
): HandlerResult {
  const m = req.message;
  const n = ctx.negotiated();
  // validate: a protocol id byte.
  if (m.payload.length === 0) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const protocolId = m.payload[0];
  // check state: somebody handles this protocol.
  const handler = ctx.config.vendor?.lookup({
    standardId: m.standardId,
    vendorId: m.vendorId,
    protocolId,
  });
  if (!handler) return reject(SPDM_ERROR_CODE.UnsupportedRequest, m.code);
  // process
  let result: VendorHandlerResult;
  try {
    result = handler(
      {
        sessionId: req.session?.session.id,
        spdmVersion: n.version,
        connectionId: ctx.config.connectionId,
      },
      m.payload.subarray(1),
    );
  } catch {
    // Handlers must not throw on peer bytes; if one does, the request was not served.
    return reject(SPDM_ERROR_CODE.Unspecified);
  }
  if (result.kind === 'silent') return { kind: 'silent' };
  if (result.kind === 'spdm-error') return reject(result.errorCode, result.errorData ?? 0);
  if (result.message.length + 1 > MAX_PAYLOAD) return reject(SPDM_ERROR_CODE.ResponseTooLarge);
  // respond
  const payload = new Uint8Array(1 + result.message.length);
  payload[0] = protocolId;
  payload.set(result.message, 1);
  const rsp: VendorDefinedResponse = {
    version: n.version,
    code: SPDM_VENDOR_DEFINED_RESPONSE,
    standardId: m.standardId,
    vendorId: m.vendorId,
    payload,
  };
  return respond(encodeSpdm(rsp));
}
