/**
 * The message sizes a negotiated suite fixes for the SPDM codecs (WIRE.md: H, S, D; DSP0274
 * 1.3 section 10.5 ALGORITHMS), as requester and responder both derive them.
 */
import { HASH_SIZE } from '../crypto/hash.ts';
import type { AlgorithmSuite } from '../crypto/suite.ts';
import type { AlgorithmSizes } from '../wire/spdm/context.ts';

/** H, S, D, the requester's S and the measurement digest size (0 for raw bit streams). */
export function codecSizes(suite: AlgorithmSuite): AlgorithmSizes {
  const mh = suite.measurementHash;
  return {
    hashSize: suite.sizes.hashSize,
    signatureSize: suite.sizes.signatureSize,
    dheSize: suite.sizes.dheSize,
    reqSignatureSize: suite.sizes.reqSignatureSize,
    measurementHashSize: mh && mh !== 'raw' ? HASH_SIZE[mh] : 0,
  };
}
