/**
 * The one error the crypto layer throws on bad peer-supplied material or on an algorithm it
 * cannot run: a failed AEAD open, a peer exchange value that is not a curve point, an SPDM
 * algorithm bit teeio does not implement. Programming errors (a key of the wrong length
 * handed in by teeio itself) are RangeErrors instead.
 */
export type CryptoErrorReason =
  | 'unsupported' // an algorithm or bit combination teeio does not implement
  | 'bad-selection' // a negotiated algorithm field with more than one bit set
  | 'decrypt-failed' // AEAD tag mismatch or a record too short to hold a tag
  | 'invalid-public-key' // peer DHE exchange data that is not a valid point
  | 'bad-key' // a key that cannot be used for the requested algorithm
  | 'malformed'; // key or certificate material (PEM/DER) that does not parse

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly reason: CryptoErrorReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/** True when `e` is a CryptoError (narrowing helper for callers that catch unknown). */
export function isCryptoError(e: unknown): e is CryptoError {
  return e instanceof CryptoError;
}

/** Overwrites secrets with zeros; call when a session or key is done with. */
export function wipe(...secrets: (Uint8Array | undefined)[]): void {
  for (const s of secrets) s?.fill(0);
}
