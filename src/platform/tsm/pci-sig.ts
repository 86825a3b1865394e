/**
 * The PCI-SIG vendor-defined wrapper from the TSM's side (PCIe 6.x 6.31.3, "Secured SPDM
 * vendor-defined messages"; WIRE.md): a protocol message (IDE_KM, TDISP) goes out as an SPDM
 * VENDOR_DEFINED_REQUEST with StandardID 3, VendorID 01 00 and its ProtocolID byte, inside
 * a secured session, and the response must carry the same ProtocolID.
 */
import type { RequesterSession, SpdmRequester } from '../../spdm/requester/index.ts';
import { SpdmUsageError } from '../../spdm/requester/index.ts';
import { SPDM_VENDOR_DEFINED_RESPONSE } from '../../wire/spdm/constants.ts';
import { decodePciSigPayload, pciSigVdm } from '../../wire/spdm/vendor-defined.ts';
import { decodeResponse, TsmProtocolError } from './errors.ts';

/** Where the TSM's protocol messages go: a requester and one of its established sessions. */
export interface SecuredChannel {
  requester: SpdmRequester;
  session: RequesterSession;
}

/**
 * Sends one PCI-SIG protocol message in the session and returns the response message
 * (without the ProtocolID byte).
 * @throws TsmProtocolError when the response is not a PCI-SIG VDM of the same protocol;
 *   SpdmUsageError before negotiation; whatever sendVendorDefined throws (SpdmErrorResponse,
 *   SpdmVerifyError, TransportError).
 */
export async function sendPciSig(
  ch: SecuredChannel,
  protocolId: number,
  message: Uint8Array,
  requestName: string,
): Promise<Uint8Array> {
  const n = ch.requester.negotiated;
  if (!n) throw new SpdmUsageError('not negotiated yet: call connect() first');
  const vdm = pciSigVdm({ protocolId, message }, { version: n.version });
  const rsp = await ch.requester.sendVendorDefined(ch.session, vdm);
  const p = decodeResponse('PCI-SIG', requestName, () =>
    decodePciSigPayload({ ...rsp, version: n.version, code: SPDM_VENDOR_DEFINED_RESPONSE }),
  );
  if (!p) throw new TsmProtocolError('PCI-SIG', requestName, 'response is not a PCI-SIG VDM');
  if (p.protocolId !== protocolId) {
    throw new TsmProtocolError(
      'PCI-SIG',
      requestName,
      `response ProtocolID ${p.protocolId}, sent ${protocolId}`,
    );
  }
  return p.message;
}
