/**
 * Verified peer certificate chains kept across connections (DSP0274 1.3 section 10.6: a
 * requester that already holds the chain a slot's DIGESTS names need not read it again with
 * GET_CERTIFICATE; libspdm does the same with its peer_used_cert_chain). One cache may be
 * shared by any number of SpdmRequester instances.
 *
 * Nothing enters the cache unverified: the only way in is `verify`, which runs the full
 * chain verification and stores the chain under the hash of the bytes it verified, never
 * under a digest a peer claimed. The key also holds everything the verdict depended on
 * (hash algorithm, leaf key algorithm, leaf requirements, the trust anchors), so a chain
 * verified under one policy is never found under another, and `find` checks the chain's
 * validity window at the time of use.
 */
import type { KeyObject } from 'node:crypto';
import {
  type CertVerifyOptions,
  type CertVerifyResult,
  verifyCertChain,
} from '../../crypto/cert-verify.ts';
import { digest } from '../../crypto/hash.ts';
import { toHex } from '../../wire/hex.ts';

/** A chain as the cache holds it: what a PeerChain needs, and when it stays valid. */
export interface CachedChain {
  /** The SPDM chain buffer that verified. */
  buffer: Uint8Array;
  /** Hash(buffer) with the negotiated hash: what DIGESTS carries for it. */
  hash: Uint8Array;
  certificates: Uint8Array[];
  leafPublicKey: KeyObject;
  subject: string;
  issuer: string;
  /** Every certificate of the chain is valid from validFrom to validTo (ms since the epoch). */
  validFrom: number;
  validTo: number;
}

/** libspdm keeps one chain per slot; a few peers times eight slots is plenty by default. */
const DEFAULT_MAX_ENTRIES = 32;

/** The policy part of the key: everything but the chain that the verdict depended on. */
function policyKey(o: CertVerifyOptions): string {
  const anchors = o.trustAnchors.map((a) => toHex(digest('sha256', a))).sort();
  const r = o.require ?? {};
  const leaf = [r.spdmEku ?? '', r.pcieSan ?? false, !!r.deviceInfoSan, !!r.hardwareIdentity];
  return JSON.stringify([o.hash, o.asym ?? '', o.role ?? '', leaf, anchors]);
}

/** A copy, so a caller changing a chain it was given cannot change the cached one. */
function copy(c: CachedChain): CachedChain {
  return {
    ...c,
    buffer: c.buffer.slice(),
    hash: c.hash.slice(),
    certificates: c.certificates.map((x) => x.slice()),
  };
}

export class VerifiedChainCache {
  private readonly entries = new Map<string, CachedChain>();

  /**
   * @param maxEntries how many chains to keep; the least recently used goes first.
   * @throws RangeError unless maxEntries is a positive integer.
   */
  constructor(readonly maxEntries = DEFAULT_MAX_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`chain cache size ${maxEntries} is not a positive integer`);
    }
  }

  /** How many chains are cached. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets every chain (e.g. after a trust anchor was revoked). */
  clear(): void {
    this.entries.clear();
  }

  /**
   * The chain that hashes to `chainDigest` and verified under the policy of `o`, if it is
   * cached and still valid at `o.at` (default now).
   */
  find(o: CertVerifyOptions, chainDigest: Uint8Array): CachedChain | undefined {
    const key = `${policyKey(o)}${toHex(chainDigest)}`;
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    const at = (o.at ?? new Date()).getTime();
    if (at < hit.validFrom || at > hit.validTo) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key); // most recently used goes last
    this.entries.set(key, hit);
    return copy(hit);
  }

  /**
   * verifyCertChain, keeping the chain when it verifies.
   * @returns verifyCertChain's result.
   */
  verify(chainBuffer: Uint8Array, o: CertVerifyOptions): CertVerifyResult {
    const result = verifyCertChain(chainBuffer, o);
    if (!result.ok) return result;
    const hash = digest(o.hash, chainBuffer);
    const key = `${policyKey(o)}${toHex(hash)}`;
    this.entries.delete(key);
    this.entries.set(
      key,
      copy({
        buffer: chainBuffer,
        hash,
        certificates: result.certificates,
        leafPublicKey: result.leafPublicKey,
        subject: result.leaf.subject,
        issuer: result.leaf.issuer,
        validFrom: result.validFrom,
        validTo: result.validTo,
      }),
    );
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    return result;
  }
}
