/**
 * VENDOR_DEFINED_REQUEST / VENDOR_DEFINED_RESPONSE from the requester's side (DSP0274 1.3
 * section 10.23; PCIe 6.31.3 for the PCI-SIG registry that carries IDE_KM and TDISP):
 * sends a payload under a (StandardID, VendorID), plain or inside a session, and checks
 * that the response names the same registry and vendor.
 */
import { bytesEqual } from '../../wire/hex.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../../wire/spdm/constants.ts';
import type { VendorDefinedResponse } from '../../wire/spdm/vendor-defined.ts';
import type { RequesterContext } from './context.ts';
import { SpdmVerifyError } from './errors.ts';
import { type Outgoing, type Received, sessionRequest } from './exchange.ts';

export interface VendorDefinedMessage {
  /** StandardID (registry): 0x0003 PCI-SIG. */
  standardId: number;
  /** VendorID bytes as on the wire (PCI-SIG: 01 00). */
  vendorId: Uint8Array;
  payload: Uint8Array;
}

/**
 * Builds a VENDOR_DEFINED_REQUEST, in session `sessionId` when given.
 * @throws SpdmUsageError before ALGORITHMS or in a session that is not established.
 */
export function startVendorDefined(
  ctx: RequesterContext,
  sessionId: number | undefined,
  m: VendorDefinedMessage,
): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  if (sessionId !== undefined) ctx.established(sessionId);

  // -- request
  const request = encodeSpdm({
    version: n.version,
    code: SPDM_VENDOR_DEFINED_REQUEST,
    standardId: m.standardId,
    vendorId: m.vendorId,
    payload: m.payload,
  });
  return sessionRequest(ctx, sessionId, request, SPDM_VENDOR_DEFINED_RESPONSE);
}

/**
 * Takes VENDOR_DEFINED_RESPONSE and returns its payload.
 * @throws SpdmVerifyError 'response' when the response names another registry or vendor.
 */
export function absorbVendorDefined(
  ctx: RequesterContext,
  sessionId: number | undefined,
  m: VendorDefinedMessage,
  { value }: Received<VendorDefinedResponse>,
): VendorDefinedMessage {
  // -- verify
  const same = value.standardId === m.standardId && bytesEqual(value.vendorId, m.vendorId);
  ctx.verified('response', same, sessionId);
  if (!same) {
    throw new SpdmVerifyError(
      'response',
      `VENDOR_DEFINED_RESPONSE is for standard ${value.standardId}, vendor ${Buffer.from(value.vendorId).toString('hex')}`,
    );
  }
  return { standardId: value.standardId, vendorId: value.vendorId, payload: value.payload };
}
