/**
 * GET_CERTIFICATE / CERTIFICATE from the requester's side (DSP0274 1.3 section 10.7;
 * libspdm libspdm_req_get_certificate.c): reads a slot's chain buffer in portions no
 * larger than our DataTransferSize allows, each request and response into transcript B,
 * then verifies the chain against the trust anchors (crypto/cert-verify: signatures,
 * RootHash, validity, the leaf key against BaseAsymSel) and, when DIGESTS was read, that
 * the chain hashes to the slot's digest. The portions read so far are the call's progress
 * (plain data), so the next GET_CERTIFICATE follows from the state alone. With a
 * VerifiedChainCache in the requester options and a DIGESTS that names a cached chain for
 * the slot, no GET_CERTIFICATE is sent at all: the chain the digest names already verified
 * under the same policy (section 10.6).
 */
import { type CertVerifyOptions, verifyCertChain } from '../../crypto/cert-verify.ts';
import { digest } from '../../crypto/hash.ts';
import { bytesEqual, concat, toHex } from '../../wire/hex.ts';
import type { Certificate, GetCertificate } from '../../wire/spdm/certificate.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_CERTIFICATE, SPDM_GET_CERTIFICATE } from '../../wire/spdm/constants.ts';
import { appendB, resetForRequest } from '../transcript.ts';
import { type RequesterContext, spkiOf } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';
import type { FlowStep } from './flow.ts';
import type { ChainRecord } from './state.ts';

/** libspdm's LIBSPDM_MAX_CERT_CHAIN_BLOCK_LEN. */
const DEFAULT_BLOCK_LENGTH = 1024;
/** CERTIFICATE header: 4 + PortionLength u16 + RemainderLength u16. */
const CERTIFICATE_HEADER_SIZE = 8;
/** The chain buffer's Length field is a u16. */
const MAX_CHAIN_SIZE = 0xffff;

/** The chain read so far, and the portion asked for. */
export interface CertificateProgress {
  portions: Uint8Array[];
  /** The chain's length, once the first CERTIFICATE told it. */
  total: number | undefined;
  /** Offset and Length of the GET_CERTIFICATE in flight. */
  offset: number;
  length: number;
}

type Step = FlowStep<CertificateProgress, ChainRecord>;

function verifyOptions(ctx: RequesterContext): CertVerifyOptions {
  const n = ctx.negotiated();
  return {
    hash: n.suite.hash,
    trustAnchors: ctx.config.trustAnchors,
    asym: n.suite.asym,
    at: ctx.options.verifyAt,
    require: ctx.options.leaf,
    // The peer is a responder: a leaf certified for requester authentication only is not one.
    role: 'responder',
  };
}

/** The GET_CERTIFICATE for the portion at `offset`, and the progress that waits for it. */
function portionRequest(
  ctx: RequesterContext,
  slot: number,
  portions: Uint8Array[],
  offset: number,
  total: number | undefined,
): { send: Outgoing; progress: CertificateProgress } {
  const n = ctx.negotiated();
  const block = Math.min(
    ctx.options.certificateBlockLength ?? DEFAULT_BLOCK_LENGTH,
    ctx.config.dataTransferSize - CERTIFICATE_HEADER_SIZE,
    n.peer.maxSpdmMsgSize
      ? n.peer.maxSpdmMsgSize - CERTIFICATE_HEADER_SIZE
      : Number.POSITIVE_INFINITY,
  );
  const req: GetCertificate = {
    version: n.version,
    code: SPDM_GET_CERTIFICATE,
    slotId: slot,
    requestAttributes: 0,
    offset,
    length: total === undefined ? block : Math.min(block, total - offset),
  };
  resetForRequest(ctx.transcript, SPDM_GET_CERTIFICATE, ctx.authenticated);
  return {
    send: {
      request: encodeSpdm(req),
      expect: { code: SPDM_CERTIFICATE, version: n.version, codec: { version: n.version } },
    },
    progress: { portions, total, offset, length: req.length },
  };
}

/**
 * The first GET_CERTIFICATE of `slot`, or the cached chain when the last DIGESTS names a
 * chain cached for the slot.
 * @throws SpdmUsageError before ALGORITHMS, without CERT_CAP or for a slot outside 0..7.
 */
export function startGetCertificate(ctx: RequesterContext, slot: number): Step {
  // -- check state
  const n = ctx.negotiated();
  if ((n.peer.flags & SPDM_CAP.CERT_CAP) === 0) {
    throw new SpdmUsageError('the responder has no CERT_CAP: no GET_CERTIFICATE');
  }
  if (!Number.isInteger(slot) || slot < 0 || slot > 7) {
    throw new SpdmUsageError(`certificate slot ${slot} is not 0..7`);
  }
  const cache = ctx.options.chainCache;
  const claimed = ctx.data.digests.get(slot);
  const hit = cache && claimed && cache.find(verifyOptions(ctx), claimed);
  if (hit) {
    const chain: ChainRecord = {
      slot,
      buffer: hit.buffer,
      hash: hit.hash,
      certificates: hit.certificates,
      leafSpki: spkiOf(hit.leafPublicKey),
      subject: hit.subject,
      issuer: hit.issuer,
    };
    ctx.data.chains.set(slot, chain);
    return { result: chain };
  }

  // -- request: the first portion
  return portionRequest(ctx, slot, [], 0, undefined);
}

/**
 * Takes one CERTIFICATE: asks for the next portion, or verifies the whole chain.
 * @throws SpdmVerifyError 'response-size' for portions that do not add up,
 *   'certificate-chain' when the chain does not verify, 'digests' when it does not match
 *   DIGESTS.
 */
export function absorbCertificate(
  ctx: RequesterContext,
  slot: number,
  ex: ExchangeProgress,
  progress: CertificateProgress,
  { value, bytes }: Received<Certificate>,
): Step {
  const n = ctx.negotiated();
  const { total, offset, length } = progress;
  const portion = value.certChain.length;
  const problem =
    value.slotId !== slot
      ? `CERTIFICATE is for slot ${value.slotId}, asked for ${slot}`
      : portion === 0 || portion > length
        ? `PortionLength ${portion} for a Length of ${length}`
        : total !== undefined && offset + portion + value.remainderLength !== total
          ? `portions add up to ${offset + portion + value.remainderLength}, not ${total}`
          : undefined;
  if (problem) {
    ctx.verified('response-size', false);
    throw new SpdmVerifyError('response-size', problem);
  }
  const chainSize = total ?? portion + value.remainderLength;
  if (chainSize > MAX_CHAIN_SIZE) {
    ctx.verified('response-size', false);
    throw new SpdmVerifyError(
      'response-size',
      `a ${chainSize}-byte chain does not fit its u16 Length`,
    );
  }
  appendB(ctx.transcript, ex.request);
  appendB(ctx.transcript, bytes);
  const portions = [...progress.portions, value.certChain];
  if (value.remainderLength !== 0) {
    return portionRequest(ctx, slot, portions, offset + portion, chainSize);
  }
  const buffer = concat(...portions);

  // -- verify the chain, then that DIGESTS named this chain
  const options = verifyOptions(ctx);
  const cache = ctx.options.chainCache;
  const result = cache ? cache.verify(buffer, options) : verifyCertChain(buffer, options);
  ctx.verified('certificate-chain', result.ok);
  if (!result.ok) {
    const where = result.certIndex >= 0 ? ` (certificate ${result.certIndex})` : '';
    throw new SpdmVerifyError('certificate-chain', `${result.reason}${where}: ${result.detail}`);
  }
  const hash = digest(n.suite.hash, buffer);
  const known = ctx.data.digests.get(slot);
  if (known) {
    const same = bytesEqual(known, hash);
    ctx.verified('digests', same);
    if (!same) {
      throw new SpdmVerifyError(
        'digests',
        `slot ${slot} chain hashes to ${toHex(hash)}, DIGESTS said ${toHex(known)}`,
      );
    }
  }

  // -- update
  const chain: ChainRecord = {
    slot,
    buffer,
    hash,
    certificates: result.certificates,
    leafSpki: spkiOf(result.leafPublicKey),
    subject: result.leaf.subject,
    issuer: result.leaf.issuer,
  };
  ctx.data.chains.set(slot, chain);
  return { result: chain };
}
