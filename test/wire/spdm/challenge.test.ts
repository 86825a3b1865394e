import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireError } from '../../../src/wire/errors.ts';
import { concat, fromHex } from '../../../src/wire/hex.ts';
import type { Challenge, ChallengeAuth } from '../../../src/wire/spdm/challenge.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import * as C from '../../../src/wire/spdm/constants.ts';
import {
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const sizes = { hashSize: 48, signatureSize: 96, dheSize: 96 };
const challenge = (version: number, type: number): Challenge => ({
  version,
  code: C.SPDM_CHALLENGE,
  slotId: 0,
  measurementSummaryHashType: type,
  nonce: fill(32, 0x11),
  requesterContext: version >= 0x13 ? fill(8, 0x22) : undefined,
});

/** CHALLENGE_AUTH bytes built field by field, independently of the encoder. */
function authBytes(version: number, summary: boolean, opaque: Uint8Array): Uint8Array {
  return concat(
    Uint8Array.from([version, 0x03, 0x80 | 0x01, 0x03]),
    fill(48, 0xc0),
    fill(32, 0x0e),
    summary ? fill(48, 0x5a) : new Uint8Array(0),
    Uint8Array.from([opaque.length & 0xff, opaque.length >> 8]),
    opaque,
    version >= 0x13 ? fill(8, 0x22) : new Uint8Array(0),
    fill(96, 0x51),
  );
}

describe('SPDM CHALLENGE / CHALLENGE_AUTH', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('challenge'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('challenge'));
  test('robust on hostile input', () => checkAuthRobust('challenge'));

  test('CHALLENGE is 36 bytes before 1.3 and 44 with the 1.3 RequesterContext', () => {
    for (const version of [0x10, 0x11, 0x12]) {
      const b = encodeSpdm(challenge(version, 0xff));
      assert.deepEqual(b, concat(Uint8Array.from([version, 0x83, 0, 0xff]), fill(32, 0x11)));
    }
    const b13 = encodeSpdm(challenge(0x13, 1));
    assert.deepEqual(b13, concat(fromHex('13 83 00 01'), fill(32, 0x11), fill(8, 0x22)));
    assert.deepEqual(decodeSpdm(b13), challenge(0x13, 1));
    assert.throws(
      () => encodeSpdm({ ...challenge(0x13, 1), requesterContext: undefined }),
      RangeError,
    );
    assert.throws(
      () => encodeSpdm({ ...challenge(0x12, 1), requesterContext: fill(8, 0) }),
      RangeError,
    );
  });

  test('CHALLENGE_AUTH layout by version and summary hash type', () => {
    for (const version of [0x10, 0x11, 0x12, 0x13]) {
      for (const type of [0, 1, 0xff]) {
        const opaque = fromHex('01 02 03');
        const bytes = authBytes(version, type !== 0, opaque);
        const m = decodeSpdm(bytes, { sizes, request: challenge(version, type) }) as ChallengeAuth;
        assert.equal(m.slotId, 1);
        assert.equal(m.reserved1, C.SPDM_CHALLENGE_AUTH_BASIC_MUT_AUTH_REQ);
        assert.equal(m.slotMask, 3);
        assert.deepEqual(m.certChainHash, fill(48, 0xc0));
        assert.deepEqual(m.measurementSummaryHash, type ? fill(48, 0x5a) : undefined);
        assert.deepEqual(m.opaqueData, opaque);
        assert.deepEqual(m.requesterContext, version >= 0x13 ? fill(8, 0x22) : undefined);
        assert.deepEqual(m.signature, fill(96, 0x51));
        assert.deepEqual(encodeSpdm(m, { sizes, request: challenge(version, type) }), bytes);
      }
    }
  });

  test('CHALLENGE_AUTH needs the CHALLENGE and the sizes', () => {
    const bytes = authBytes(0x12, true, new Uint8Array(0));
    assert.throws(
      () => decodeSpdm(bytes, { sizes }),
      (e) => e instanceof WireError && e.field === 'ctx.request',
    );
    assert.throws(
      () => decodeSpdm(bytes, { request: challenge(0x12, 1) }),
      (e) => e instanceof WireError && e.field === 'ctx.sizes.hashSize',
    );
    // The wrong request type shifts everything: the signature comes up short.
    assert.throws(
      () => decodeSpdm(bytes, { sizes, request: challenge(0x12, 0) }),
      (e) => e instanceof WireError,
    );
  });

  test('OpaqueLength over 1024 is refused', () => {
    const bytes = authBytes(0x12, false, new Uint8Array(1025));
    assert.throws(
      () => decodeSpdm(bytes, { sizes, request: challenge(0x12, 0) }),
      (e) =>
        e instanceof WireError &&
        e.field === 'OpaqueLength' &&
        e.kind === 'too-large' &&
        e.offset === 84,
    );
    const m = decodeSpdm(authBytes(0x12, false, new Uint8Array(0)), {
      sizes,
      request: challenge(0x12, 0),
    }) as ChallengeAuth;
    assert.throws(() => encodeSpdm({ ...m, opaqueData: new Uint8Array(1025) }), RangeError);
  });

  test('encoder checks the summary hash against the request and digests against H', () => {
    const ctx = { sizes, request: challenge(0x12, 0) };
    const m = decodeSpdm(authBytes(0x12, false, new Uint8Array(0)), ctx) as ChallengeAuth;
    assert.throws(() => encodeSpdm({ ...m, measurementSummaryHash: fill(48, 0) }, ctx), RangeError);
    assert.throws(() => encodeSpdm({ ...m, certChainHash: fill(32, 0) }, ctx), RangeError);
    assert.throws(() => encodeSpdm({ ...m, signature: fill(64, 0) }, ctx), RangeError);
  });
});
