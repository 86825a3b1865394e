/**
 * What a TSM hands a confidential guest about the device behind a TDI bound to it, for the
 * guest's own attestation (SYSTEM.md section 4 step 4, invariant 12): the certificate chain
 * the TSM's SPDM session authenticated, the signed measurements it read in that session at
 * the TDI's last lock, the TDI's InterfaceID and MMIO_REPORTING_OFFSET, and the nonce the
 * guest supplied, echoed. The
 * flavours return it from their guest read calls (TDG.DEVIF.RD, TIO_MSG_TDI_INFO_REQ,
 * RSI_VDEV_GET_INFO): the real firmwares give the guest these blobs, or their digests and
 * the blobs through the host (SEV-TIO's TIO_GUID_CERTIFICATES / _MEASUREMENTS, RMM-DA's
 * cert and measurement digests); the model hands the blobs themselves, over the guest ABI
 * the host does not see, and the guest's nonce bound to them.
 */
import type { HashAlg } from '../../crypto/hash.ts';
import type { MeasurementBlock } from '../../wire/spdm/measurements.ts';
import type { InterfaceId } from '../../wire/tdisp/header.ts';
import type { TsmState } from './state.ts';

export interface GuestDeviceEvidence {
  /** The negotiated SPDM base hash (the chain's RootHash size and algorithm). */
  hash: HashAlg;
  /** The SPDM certificate chain buffer of the slot the session used (DSP0274 10.7.1). */
  certChain: Uint8Array;
  /** Every measurement block the TSM's signed GET_MEASUREMENTS returned. */
  measurements: MeasurementBlock[];
  /** The TDI the records are about. */
  interfaceId: InterfaceId;
  /** MMIO_REPORTING_OFFSET the TSM's LOCK asked for. */
  reportingOffset: bigint;
  /** The guest's nonce for this read, as it gave it (96 hex digits or any length). */
  nonce?: string;
}

/**
 * The evidence of TDI `rid` from the TSM's records, or undefined when the TSM has no
 * authenticated session or no chain for its device (the caller answers with its status).
 */
export function tsmGuestEvidence(
  tsm: TsmState,
  rid: number,
  nonce?: string,
): GuestDeviceEvidence | undefined {
  const t = tsm.tdis.get(rid);
  const link = t === undefined ? undefined : tsm.links.get(t.device);
  if (!t || !link) return undefined;
  const c = link.connection;
  const chain = link.chains.get(0) ?? [...link.chains.values()][0];
  if ((c.state !== 'NEGOTIATED' && c.state !== 'AUTHENTICATED') || !chain) return undefined;
  const out: GuestDeviceEvidence = {
    hash: c.negotiated.suite.hash,
    certChain: chain.buffer.slice(),
    measurements: structuredClone(link.measurements ?? []),
    interfaceId: { ...t.interfaceId },
    reportingOffset: t.reportingOffset,
  };
  if (nonce !== undefined) out.nonce = nonce;
  return out;
}
