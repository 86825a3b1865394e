/**
 * What the cryptography keeps across calls (deterministic signatures by key and message,
 * certificate signature checks by both certificates, ECDH public points and shared
 * secrets, SPDM signature verdicts, each by its inputs), as plain data one thread hands
 * another: a parallel exploration's workers start with what their parent computed.
 */
import { keepIssued, keptIssued } from '../crypto/cert-verify.ts';
import { keepDhe, keptDhe } from '../crypto/dhe.ts';
import { keepSignatures, keptSignatures } from '../crypto/ecdsa-deterministic.ts';
import { keepVerified, keptVerified } from '../crypto/signing.ts';

export interface KeptCrypto {
  signatures: [string, Uint8Array][];
  issued: [string, boolean][];
  dhe: ReturnType<typeof keptDhe>;
  verified: [string, boolean][];
}

export function keptCrypto(): KeptCrypto {
  return {
    signatures: keptSignatures(),
    issued: keptIssued(),
    dhe: keptDhe(),
    verified: keptVerified(),
  };
}

export function keepCrypto(k: KeptCrypto): void {
  keepSignatures(k.signatures);
  keepIssued(k.issued);
  keepDhe(k.dhe);
  keepVerified(k.verified);
}
