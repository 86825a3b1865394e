/**
 * GET_DIGESTS / DIGESTS from the requester's side (DSP0274 1.3 section 10.6; libspdm
 * libspdm_req_get_digests.c). GET_DIGESTS starts transcript B over; both messages go into
 * it, and with 1.3 MULTI_KEY_CONN_RSP the response also becomes D. A slot whose digest no
 * longer matches a chain we hold loses that chain.
 */
import { bytesEqual } from '../../wire/hex.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_DIGESTS, SPDM_GET_DIGESTS } from '../../wire/spdm/constants.ts';
import { type Digests, slotsOfMask } from '../../wire/spdm/digests.ts';
import { appendB, resetForRequest, setD } from '../transcript.ts';
import type { RequesterCore } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';

export interface DigestsResult {
  /** Param2: the slots whose digest was sent. */
  slotMask: number;
  /** Hash(chain buffer) per slot. */
  digests: Map<number, Uint8Array>;
}

/**
 * Runs GET_DIGESTS.
 * @throws SpdmUsageError before ALGORITHMS or when the responder has no CERT_CAP;
 *   SpdmVerifyError 'digests' when no slot is provisioned; whatever `exchange` throws.
 */
export async function getDigests(core: RequesterCore): Promise<DigestsResult> {
  // -- check state
  const n = core.negotiated();
  if ((n.peer.flags & SPDM_CAP.CERT_CAP) === 0) {
    throw new SpdmUsageError('the responder has no CERT_CAP: no GET_DIGESTS');
  }

  // -- request / response
  const request = encodeSpdm({ version: n.version, code: SPDM_GET_DIGESTS });
  resetForRequest(core.transcript, SPDM_GET_DIGESTS, core.authenticated);
  const { value, bytes } = await exchange<Digests>(core, request, {
    code: SPDM_DIGESTS,
    version: n.version,
    codec: { version: n.version, sizes: n.sizes },
  });

  // -- verify
  const slots = slotsOfMask(value.slotMask);
  core.verified('digests', slots.length > 0);
  if (slots.length === 0) throw new SpdmVerifyError('digests', 'DIGESTS names no slot');

  // -- update
  appendB(core.transcript, request);
  appendB(core.transcript, bytes);
  setD(core.transcript, bytes);
  core.digests.clear();
  for (const [i, slot] of slots.entries()) core.digests.set(slot, value.digests[i]);
  for (const [slot, chain] of core.chains) {
    const d = core.digests.get(slot);
    if (!d || !bytesEqual(d, chain.hash)) core.chains.delete(slot);
  }
  return { slotMask: value.slotMask, digests: new Map(core.digests) };
}
