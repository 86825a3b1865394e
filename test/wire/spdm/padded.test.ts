/**
 * decodeSpdmPadded: an SPDM message followed by PCI DOE dword padding (PCIe 6.30.1) ends
 * where its own fields say; the padding is left off and zeros that belong to the message
 * are kept.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeTransportPayload, encodeTransportPayload } from '../../../src/transport/binding.ts';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, decodeSpdmPadded, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import * as C from '../../../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../../src/wire/spdm/context.ts';
import type { ErrorResponse } from '../../../src/wire/spdm/error.ts';
import type { SpdmMessage } from '../../../src/wire/spdm/messages.ts';
import { AUTH_FAMILIES, arbAuthCase, canon } from '../../support/spdm-arbitraries.ts';
import type { SpdmCase } from '../../support/spdm-arbitraries-common.ts';
import { arbFamilyCase, SESSION_FAMILIES } from '../../support/spdm-arbitraries-session.ts';

/**
 * Messages whose last field no length delimits, so padding cannot be told from data: ERROR's
 * raw ExtendedErrorData (tested on its own below), the CAPABILITIES Supported Algorithms
 * block kept raw (whatever follows a 1.3 CAPABILITIES whose request asked for it, or whose
 * request is unknown),
 * and MEASUREMENTS decoded without its request (the engines always pass it).
 */
function undelimitedTail({ msg, ctx }: SpdmCase): boolean {
  const m = msg as SpdmMessage & Record<string, unknown>;
  if (m.code === C.SPDM_ERROR) {
    const e = m as ErrorResponse;
    return (
      e.errorCode !== C.SPDM_ERROR_CODE.ResponseNotReady &&
      e.errorCode !== C.SPDM_ERROR_CODE.LargeResponse
    );
  }
  if (m.code === C.SPDM_CAPABILITIES) {
    // The block is raw; whenever it may be there, what follows 1.3 CAPABILITIES is taken as it.
    const req = ctx.request as (SpdmMessage & { param1?: number }) | undefined;
    const asked =
      req?.code !== C.SPDM_GET_CAPABILITIES ||
      ((req.param1 ?? 0) & C.SPDM_GET_CAPABILITIES_PARAM1_SUPPORTED_ALGORITHMS) !== 0;
    return m.supportedAlgorithms !== undefined || (m.version >= 0x13 && asked);
  }
  if (m.code === C.SPDM_MEASUREMENTS) return ctx.request === undefined;
  return false;
}

const padded = (bytes: Uint8Array, pad: number) => Uint8Array.of(...bytes, ...new Uint8Array(pad));

describe('decodeSpdmPadded', () => {
  for (const [family, arb] of [
    ...AUTH_FAMILIES.map((f) => [f, arbAuthCase(f)] as const),
    ...SESSION_FAMILIES.map((f) => [f, arbFamilyCase(f)] as const),
  ]) {
    test(`${family}: 1..3 zero bytes after the message decode to the same message and bytes`, () => {
      fc.assert(
        fc.property(
          arb.filter((c) => !undelimitedTail(c)),
          fc.integer({ min: 1, max: 3 }),
          (c, pad) => {
            const bytes = encodeSpdm(c.msg, c.ctx);
            const d = decodeSpdmPadded(padded(bytes, pad), c.ctx, pad);
            assert.deepStrictEqual(d.bytes, bytes);
            assert.deepStrictEqual(canon(d.message), canon(decodeSpdm(bytes, c.ctx)));
            // More than the transport allows, or a non-zero byte, is not padding.
            assert.throws(
              () => decodeSpdmPadded(padded(bytes, pad), c.ctx, pad - 1),
              (e) => e instanceof WireError && e.kind === 'trailing',
            );
            const dirty = padded(bytes, pad);
            dirty[dirty.length - 1] = 1;
            assert.throws(
              () => decodeSpdmPadded(dirty, c.ctx, pad),
              (e) => e instanceof WireError && e.kind === 'trailing',
            );
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  /** The message as a DOE responder sends it and a DOE requester receives it. */
  const overDoe = (bytes: Uint8Array, ctx: SpdmCodecContext = {}) => {
    const m = decodeTransportPayload(
      'pci_doe',
      encodeTransportPayload('pci_doe', { secured: false, bytes }),
    );
    return decodeSpdmPadded(m.bytes, ctx, m.maxPad ?? 0);
  };

  test('ERROR Unspecified with ExtendedErrorData 00000000 keeps all four zero bytes', () => {
    const bytes = fromHex('12 7f 05 00 00 00 00 00');
    const d = overDoe(bytes);
    assert.deepStrictEqual(d.bytes, bytes);
    assert.deepStrictEqual((d.message as ErrorResponse).extendedData, new Uint8Array(4));
  });

  test('ERROR without extended data, ResponseNotReady, LargeResponse: exact over DOE', () => {
    const none = fromHex('12 7f 01 00');
    assert.deepStrictEqual(overDoe(none).bytes, none);
    assert.deepStrictEqual((overDoe(none).message as ErrorResponse).extendedData, new Uint8Array());
    const rnr = fromHex('12 7f 42 00 0a e0 00 03');
    assert.deepStrictEqual(overDoe(rnr).bytes, rnr);
    // LargeResponse's Handle is one byte, even when it is zero; three bytes of padding follow.
    const large = fromHex('13 7f 0f 00 00');
    const d = overDoe(large);
    assert.deepStrictEqual(d.bytes, large);
    assert.deepStrictEqual((d.message as ErrorResponse).extendedData, fromHex('00'));
  });

  test('other ERROR codes: ExtendedErrorData runs to the end, padding included', () => {
    // Nothing delimits it: a 1-byte vendor ExtendedErrorData comes back zero-extended to a dword.
    const d = overDoe(fromHex('12 7f ff 00 05'));
    assert.deepStrictEqual((d.message as ErrorResponse).extendedData, fromHex('05 00 00 00'));
  });

  test('zeros at the end of a message are kept: VENDOR_DEFINED payload ending 00 00', () => {
    const vdm = encodeSpdm({
      version: C.SPDM_VERSION_12,
      code: C.SPDM_VENDOR_DEFINED_REQUEST,
      standardId: C.SPDM_REGISTRY_ID_PCISIG,
      vendorId: fromHex('01 00'),
      payload: fromHex('00 01 00 00'),
    });
    assert.equal(vdm.length, 15); // 1 byte of DOE padding follows
    const d = overDoe(vdm);
    assert.deepStrictEqual(d.bytes, vdm);
    assert.deepStrictEqual((d.message as { payload: Uint8Array }).payload, fromHex('00 01 00 00'));
  });

  test('GET_VERSION with a non-zero byte after it is refused, not trimmed', () => {
    assert.throws(
      () => decodeSpdmPadded(fromHex('10 84 00 00 07'), {}, 3),
      (e) => e instanceof WireError && e.kind === 'trailing' && e.offset === 4,
    );
  });
});
