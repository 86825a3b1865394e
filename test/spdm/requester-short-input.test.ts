/**
 * SpdmRequester.sendRaw takes any bytes: a request of 0 or 1 byte (no request code) goes out
 * and its ERROR comes back as SpdmErrorResponse, never a TypeError (issue 15).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpdmErrorResponse } from '../../src/spdm/requester/errors.ts';
import { spdmCodeName } from '../../src/wire/spdm/constants.ts';
import { makePair, sampleIdentity } from './requester-support.ts';

describe('requester: short raw requests', () => {
  it('0, 1, 2 and 3 bytes: an answer or SpdmErrorResponse, never a TypeError', async () => {
    const { requester } = makePair({ identity: sampleIdentity() });
    await requester.connect();
    for (const bytes of [[], [0x13], [0x13, 0x81], [0x13, 0x81, 0]]) {
      const outcome = await requester.sendRaw(Uint8Array.from(bytes)).then(
        (reply) => reply,
        (e: unknown) => e,
      );
      assert.ok(
        !(outcome instanceof TypeError) && !(outcome instanceof RangeError),
        `${bytes.length} byte(s): ${String(outcome)}`,
      );
      if (outcome instanceof Error)
        assert.ok(outcome instanceof SpdmErrorResponse, String(outcome));
    }
  });

  it('spdmCodeName names a missing code', () => {
    assert.equal(spdmCodeName(undefined), 'NO_CODE');
    assert.equal(spdmCodeName(0x84), 'GET_VERSION');
  });
});
