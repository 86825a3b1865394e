/**
 * GET_CERTIFICATE -> CERTIFICATE (DSP0274 1.3 section 10.7; libspdm
 * libspdm_get_response_certificate). The chain buffer is served in portions no larger than
 * the requester's DataTransferSize allows (1.2+) and the Length it asked for; outside a
 * session every request and portion goes into B.
 */
import type { Certificate, GetCertificate } from '../../../wire/spdm/certificate.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_CERTIFICATE,
  SPDM_ERROR_CODE,
  SPDM_GET_CERTIFICATE_SLOT_SIZE_REQUESTED,
  SPDM_VERSION_12,
  SPDM_VERSION_13,
} from '../../../wire/spdm/constants.ts';
import { appendB } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

/** CERTIFICATE header size before the portion. */
const CERTIFICATE_HEADER = 8;

export function handleGetCertificate(
  ctx: ResponderContext,
  req: HandlerRequest<GetCertificate>,
): HandlerResult {
  const m = req.message;
  const n = ctx.negotiated();
  // validate: an existing slot, an offset inside the chain.
  const chain = ctx.chain(m.slotId);
  if (!chain || m.reserved1 !== undefined) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const sizeOnly =
    n.version >= SPDM_VERSION_13 &&
    (m.requestAttributes & SPDM_GET_CERTIFICATE_SLOT_SIZE_REQUESTED) !== 0;
  if (!sizeOnly && m.offset >= chain.length) return reject(SPDM_ERROR_CODE.InvalidRequest);
  // process: the portion, capped by the requester's DataTransferSize.
  let length = sizeOnly ? 0 : Math.min(m.length, chain.length - m.offset);
  const dts = n.version >= SPDM_VERSION_12 ? n.peer.dataTransferSize : 0;
  if (dts > 0) length = Math.min(length, dts - CERTIFICATE_HEADER);
  const offset = sizeOnly ? 0 : m.offset;
  // respond
  const rsp: Certificate = {
    version: n.version,
    code: SPDM_CERTIFICATE,
    slotId: m.slotId,
    // CertificateInfo is only meaningful with MULTI_KEY_CONN_RSP, which teeio never sets.
    responseAttributes: 0,
    remainderLength: sizeOnly ? chain.length : chain.length - offset - length,
    certChain: chain.slice(offset, offset + length),
  };
  const bytes = encodeSpdm(rsp);
  // update
  if (!req.session) {
    appendB(ctx.transcript, req.bytes);
    appendB(ctx.transcript, bytes);
  }
  return respond(bytes);
}
