/**
 * The SPDM certificate chain buffer (DSP0274 1.3 section 10.7.1): u16 Length (whole buffer),
 * u16 Reserved, RootHash = Hash(root certificate DER), then the DER certificates root
 * first. The byte layout lives in wire/spdm/cert-chain.ts; this adds the hashing.
 */
import { encodeCertChain } from '../wire/spdm/cert-chain.ts';
import { digest, type HashAlg } from './hash.ts';

export { decodeCertChain, splitDerCertificates } from '../wire/spdm/cert-chain.ts';

/**
 * The chain buffer for `certificates` (root first). `root` is the certificate whose hash goes
 * in RootHash: the first certificate by default, or the trust anchor that signed it when the
 * chain starts below the root.
 * @throws RangeError when the buffer would exceed 65535 bytes or there is no certificate.
 */
export function buildCertChain(
  hash: HashAlg,
  certificates: Uint8Array[],
  root: Uint8Array = certificates[0],
): Uint8Array {
  if (!root) throw new RangeError('certificate chain needs at least one certificate');
  return encodeCertChain({ rootHash: digest(hash, root), certificates });
}

/** Hash(Cert): what DIGESTS carries per slot and what session transcripts include. */
export function certChainDigest(hash: HashAlg, chainBuffer: Uint8Array): Uint8Array {
  return digest(hash, chainBuffer);
}
