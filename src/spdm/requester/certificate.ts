/**
 * GET_CERTIFICATE / CERTIFICATE from the requester's side (DSP0274 1.3 section 10.7;
 * libspdm libspdm_req_get_certificate.c): reads a slot's chain buffer in portions no
 * larger than our DataTransferSize allows, each request and response into transcript B,
 * then verifies the chain against the trust anchors (crypto/cert-verify: signatures,
 * RootHash, validity, the leaf key against BaseAsymSel) and, when DIGESTS was read, that
 * the chain hashes to the slot's digest. With a VerifiedChainCache in the requester options
 * and a DIGESTS that names a cached chain for the slot, no GET_CERTIFICATE is sent at all:
 * the chain the digest names already verified under the same policy (section 10.6).
 */
import { type CertVerifyOptions, verifyCertChain } from '../../crypto/cert-verify.ts';
import { digest } from '../../crypto/hash.ts';
import { bytesEqual, concat, toHex } from '../../wire/hex.ts';
import type { Certificate, GetCertificate } from '../../wire/spdm/certificate.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_CERTIFICATE, SPDM_GET_CERTIFICATE } from '../../wire/spdm/constants.ts';
import { appendB, resetForRequest } from '../transcript.ts';
import type { PeerChain, RequesterCore } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';

/** libspdm's LIBSPDM_MAX_CERT_CHAIN_BLOCK_LEN. */
const DEFAULT_BLOCK_LENGTH = 1024;
/** CERTIFICATE header: 4 + PortionLength u16 + RemainderLength u16. */
const CERTIFICATE_HEADER_SIZE = 8;
/** The chain buffer's Length field is a u16. */
const MAX_CHAIN_SIZE = 0xffff;

/**
 * Reads and verifies the chain of `slot`, or takes it from the chain cache when the last
 * DIGESTS names a chain cached for the slot.
 * @throws SpdmUsageError before ALGORITHMS, without CERT_CAP or for a slot outside 0..7;
 *   SpdmVerifyError 'response' / 'response-size' for portions that do not add up,
 *   'certificate-chain' when the chain does not verify, 'digests' when it does not match
 *   DIGESTS; whatever `exchange` throws.
 */
export async function getCertificate(core: RequesterCore, slot: number): Promise<PeerChain> {
  // -- check state
  const n = core.negotiated();
  if ((n.peer.flags & SPDM_CAP.CERT_CAP) === 0) {
    throw new SpdmUsageError('the responder has no CERT_CAP: no GET_CERTIFICATE');
  }
  if (!Number.isInteger(slot) || slot < 0 || slot > 7) {
    throw new SpdmUsageError(`certificate slot ${slot} is not 0..7`);
  }
  const verifyOptions: CertVerifyOptions = {
    hash: n.suite.hash,
    trustAnchors: core.config.trustAnchors,
    asym: n.suite.asym,
    at: core.options.verifyAt,
    require: core.options.leaf,
  };
  const cache = core.options.chainCache;
  const claimed = core.digests.get(slot);
  const hit = cache && claimed && cache.find(verifyOptions, claimed);
  if (hit) {
    const chain: PeerChain = {
      slot,
      buffer: hit.buffer,
      hash: hit.hash,
      certificates: hit.certificates,
      leafPublicKey: hit.leafPublicKey,
      subject: hit.subject,
      issuer: hit.issuer,
    };
    core.chains.set(slot, chain);
    return chain;
  }

  const block = Math.min(
    core.options.certificateBlockLength ?? DEFAULT_BLOCK_LENGTH,
    core.config.dataTransferSize - CERTIFICATE_HEADER_SIZE,
    n.peer.maxSpdmMsgSize
      ? n.peer.maxSpdmMsgSize - CERTIFICATE_HEADER_SIZE
      : Number.POSITIVE_INFINITY,
  );

  // -- request / response, portion by portion
  const portions: Uint8Array[] = [];
  let offset = 0;
  let total: number | undefined;
  for (;;) {
    const req: GetCertificate = {
      version: n.version,
      code: SPDM_GET_CERTIFICATE,
      slotId: slot,
      requestAttributes: 0,
      offset,
      length: total === undefined ? block : Math.min(block, total - offset),
    };
    const request = encodeSpdm(req);
    resetForRequest(core.transcript, SPDM_GET_CERTIFICATE, core.authenticated);
    const { value, bytes } = await exchange<Certificate>(core, request, {
      code: SPDM_CERTIFICATE,
      version: n.version,
      codec: { version: n.version },
    });
    const portion = value.certChain.length;
    const problem =
      value.slotId !== slot
        ? `CERTIFICATE is for slot ${value.slotId}, asked for ${slot}`
        : portion === 0 || portion > req.length
          ? `PortionLength ${portion} for a Length of ${req.length}`
          : total !== undefined && offset + portion + value.remainderLength !== total
            ? `portions add up to ${offset + portion + value.remainderLength}, not ${total}`
            : undefined;
    if (problem) {
      core.verified('response-size', false);
      throw new SpdmVerifyError('response-size', problem);
    }
    total ??= portion + value.remainderLength;
    if (total > MAX_CHAIN_SIZE) {
      core.verified('response-size', false);
      throw new SpdmVerifyError(
        'response-size',
        `a ${total}-byte chain does not fit its u16 Length`,
      );
    }
    appendB(core.transcript, request);
    appendB(core.transcript, bytes);
    portions.push(value.certChain);
    offset += portion;
    if (value.remainderLength === 0) break;
  }
  const buffer = concat(...portions);

  // -- verify the chain, then that DIGESTS named this chain
  const result = cache
    ? cache.verify(buffer, verifyOptions)
    : verifyCertChain(buffer, verifyOptions);
  core.verified('certificate-chain', result.ok);
  if (!result.ok) {
    const where = result.certIndex >= 0 ? ` (certificate ${result.certIndex})` : '';
    throw new SpdmVerifyError('certificate-chain', `${result.reason}${where}: ${result.detail}`);
  }
  const hash = digest(n.suite.hash, buffer);
  const known = core.digests.get(slot);
  if (known) {
    const same = bytesEqual(known, hash);
    core.verified('digests', same);
    if (!same) {
      throw new SpdmVerifyError(
        'digests',
        `slot ${slot} chain hashes to ${toHex(hash)}, DIGESTS said ${toHex(known)}`,
      );
    }
  }

  // -- update
  const leaf = result.leaf;
  const chain: PeerChain = {
    slot,
    buffer,
    hash,
    certificates: result.certificates,
    leafPublicKey: result.leafPublicKey,
    subject: leaf.subject,
    issuer: leaf.issuer,
  };
  core.chains.set(slot, chain);
  return chain;
}
