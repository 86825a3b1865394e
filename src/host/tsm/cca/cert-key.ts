/**
 * The device's public key as the host reads it from the certificate chain the RMM asked it
 * to cache (RMI_PDEV_COMMUNICATE in PDEV_NEW), for RMI_PDEV_SET_PUBKEY: the RMM has no X.509
 * parser, the host has. The chain is an SPDM certificate chain buffer (DSP0274 10.7.1)
 * whose RootHash size depends on the hash algorithm the TSM negotiated, which the host
 * does not see: the size is the one whose digest of the root certificate is the RootHash.
 */
import { X509Certificate } from 'node:crypto';
import { digest, type HashAlg } from '../../../crypto/hash.ts';
import { decodeCertChain } from '../../../wire/spdm/cert-chain.ts';

const ROOT_HASHES: readonly [HashAlg, number][] = [
  ['sha256', 32],
  ['sha384', 48],
  ['sha512', 64],
];

/** The leaf certificate's SubjectPublicKeyInfo (DER), or undefined if the chain does not parse. */
export function leafPublicKey(chain: Uint8Array): Uint8Array | undefined {
  for (const [alg, size] of ROOT_HASHES) {
    try {
      const c = decodeCertChain(chain, size);
      const root = c.certificates[0];
      const leaf = c.certificates.at(-1);
      if (!root || !leaf || !Buffer.from(digest(alg, root)).equals(c.rootHash)) continue;
      const key = new X509Certificate(Buffer.from(leaf)).publicKey;
      return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
    } catch {
      // Not this RootHash size (or not a chain at all): try the next.
    }
  }
  return undefined;
}
