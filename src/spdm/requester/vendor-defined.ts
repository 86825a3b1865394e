/**
 * VENDOR_DEFINED_REQUEST / VENDOR_DEFINED_RESPONSE from the requester's side (DSP0274 1.3
 * section 10.23; PCIe 6.31.3 for the PCI-SIG registry that carries IDE_KM and TDISP):
 * sends a payload under a (StandardID, VendorID), plain or inside a session, and checks
 * that the response names the same registry and vendor.
 */
import { bytesEqual } from '../../wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../../wire/spdm/constants.ts';
import type { VendorDefinedResponse } from '../../wire/spdm/vendor-defined.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';

export interface VendorDefinedMessage {
  /** StandardID (registry): 0x0003 PCI-SIG. */
  standardId: number;
  /** VendorID bytes as on the wire (PCI-SIG: 01 00). */
  vendorId: Uint8Array;
  payload: Uint8Array;
}

/**
 * Sends a VENDOR_DEFINED_REQUEST and returns the response's payload.
 * @throws SpdmUsageError before ALGORITHMS or in a session that is not established;
 *   SpdmVerifyError 'response' when the response names another registry or vendor;
 *   whatever `exchange` throws.
 */
export async function sendVendorDefined(
  core: RequesterCore,
  s: RequesterSession | undefined,
  m: VendorDefinedMessage,
): Promise<VendorDefinedMessage> {
  // -- check state
  const n = core.negotiated();
  if (s && s.phase !== 'established')
    throw new SpdmUsageError(`session 0x${s.id.toString(16)} is not established`);

  // -- request / response
  const request = encodeSpdm({
    version: n.version,
    code: SPDM_VENDOR_DEFINED_REQUEST,
    standardId: m.standardId,
    vendorId: m.vendorId,
    payload: m.payload,
  });
  core.transcript.resetForRequest(SPDM_VENDOR_DEFINED_REQUEST, core.authenticated, s?.transcript);
  const { value } = await exchange(
    core,
    request,
    {
      code: SPDM_VENDOR_DEFINED_RESPONSE,
      version: n.version,
      decode: (b) => decodeSpdm(b, { version: n.version }) as VendorDefinedResponse,
    },
    { session: s },
  );

  // -- verify
  const same = value.standardId === m.standardId && bytesEqual(value.vendorId, m.vendorId);
  core.verified('response', same, s?.id);
  if (!same) {
    throw new SpdmVerifyError(
      'response',
      `VENDOR_DEFINED_RESPONSE is for standard ${value.standardId}, vendor ${Buffer.from(value.vendorId).toString('hex')}`,
    );
  }
  return { standardId: value.standardId, vendorId: value.vendorId, payload: value.payload };
}
