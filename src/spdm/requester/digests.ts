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
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';

export interface DigestsResult {
  /** Param2: the slots whose digest was sent. */
  slotMask: number;
  /** Hash(chain buffer) per slot. */
  digests: Map<number, Uint8Array>;
}

/**
 * Builds GET_DIGESTS.
 * @throws SpdmUsageError before ALGORITHMS or when the responder has no CERT_CAP.
 */
export function startGetDigests(ctx: RequesterContext): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  if ((n.peer.flags & SPDM_CAP.CERT_CAP) === 0) {
    throw new SpdmUsageError('the responder has no CERT_CAP: no GET_DIGESTS');
  }

  // -- request
  resetForRequest(ctx.transcript, SPDM_GET_DIGESTS, ctx.authenticated);
  return {
    request: encodeSpdm({ version: n.version, code: SPDM_GET_DIGESTS }),
    expect: {
      code: SPDM_DIGESTS,
      version: n.version,
      codec: { version: n.version, sizes: n.sizes },
    },
  };
}

/**
 * Takes DIGESTS.
 * @throws SpdmVerifyError 'digests' when no slot is provisioned.
 */
export function absorbDigests(
  ctx: RequesterContext,
  ex: ExchangeProgress,
  { value, bytes }: Received<Digests>,
): DigestsResult {
  // -- verify
  const slots = slotsOfMask(value.slotMask);
  ctx.verified('digests', slots.length > 0);
  if (slots.length === 0) throw new SpdmVerifyError('digests', 'DIGESTS names no slot');

  // -- update
  const { transcript: t, data } = ctx;
  appendB(t, ex.request);
  appendB(t, bytes);
  setD(t, bytes);
  data.digests.clear();
  for (const [i, slot] of slots.entries()) data.digests.set(slot, value.digests[i]);
  for (const [slot, chain] of data.chains) {
    const d = data.digests.get(slot);
    if (!d || !bytesEqual(d, chain.hash)) data.chains.delete(slot);
  }
  return { slotMask: value.slotMask, digests: new Map(data.digests) };
}
