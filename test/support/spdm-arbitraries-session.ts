/**
 * fast-check arbitraries for the SPDM session families (KEY_EXCHANGE, FINISH, PSK_*,
 * HEARTBEAT, KEY_UPDATE, END_SESSION) and VENDOR_DEFINED, plus the secured-message opaque data.
 *
 * Reserved fields are either undefined or non-zero (the decoders give undefined for zero), and
 * every optional key is always present (possibly undefined) so decoded objects compare equal
 * with deepStrictEqual. Messages are generated consistent with a codec context: the sizes, the
 * request a response answers and the handshake-in-the-clear switch.
 *
 * The end of the file has the property drivers every family's test runs: round trips both
 * ways (message -> bytes -> message, and decodable bytes -> message -> the same bytes) and
 * the checkRobust run.
 */
import fc from 'fast-check';
import * as C from '../../src/wire/spdm/constants.ts';
import type { AlgorithmSizes, SpdmCodecContext } from '../../src/wire/spdm/context.ts';
import type { EndSession, EndSessionAck } from '../../src/wire/spdm/end-session.ts';
import type { Finish, FinishRsp } from '../../src/wire/spdm/finish.ts';
import type { Heartbeat, HeartbeatAck } from '../../src/wire/spdm/heartbeat.ts';
import type { KeyExchange, KeyExchangeRsp } from '../../src/wire/spdm/key-exchange.ts';
import type { KeyUpdate, KeyUpdateAck } from '../../src/wire/spdm/key-update.ts';
import type { SpdmMessage } from '../../src/wire/spdm/messages.ts';
import type { OpaqueData, OpaqueElement, SecuredMessageData } from '../../src/wire/spdm/opaque.ts';
import {
  encodeOpaqueData,
  encodeSecuredMessageData,
  SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_SUPPORTED_VERSION,
  SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_VERSION_SELECTION,
} from '../../src/wire/spdm/opaque.ts';
import type {
  PskExchange,
  PskExchangeRsp,
  PskFinish,
  PskFinishRsp,
} from '../../src/wire/spdm/psk.ts';
import type {
  VendorDefinedRequest,
  VendorDefinedResponse,
} from '../../src/wire/spdm/vendor-defined.ts';
import { FUZZ_RUNS } from './robust.ts';
import {
  bytes,
  checkCasesBytesRoundTrip,
  checkCasesRoundTrip,
  checkContextsRobust,
  decodeWithin,
  hashType,
  P384_SIZES,
  rec,
  rsvU8,
  rsvU16,
  SIG_SIZES,
  type SpdmCase,
  u8,
  u16,
  varBytes,
} from './spdm-arbitraries-common.ts';

export { P384_SIZES } from './spdm-arbitraries-common.ts';

export type SessionFamily =
  | 'key-exchange'
  | 'finish'
  | 'psk'
  | 'heartbeat'
  | 'key-update'
  | 'end-session'
  | 'vendor-defined';

export const SESSION_FAMILIES: SessionFamily[] = [
  'key-exchange',
  'finish',
  'psk',
  'heartbeat',
  'key-update',
  'end-session',
  'vendor-defined',
];

/** The RequestResponseCodes of each family. */
export const FAMILY_CODES: Record<SessionFamily, number[]> = {
  'key-exchange': [C.SPDM_KEY_EXCHANGE, C.SPDM_KEY_EXCHANGE_RSP],
  finish: [C.SPDM_FINISH, C.SPDM_FINISH_RSP],
  psk: [C.SPDM_PSK_EXCHANGE, C.SPDM_PSK_EXCHANGE_RSP, C.SPDM_PSK_FINISH, C.SPDM_PSK_FINISH_RSP],
  heartbeat: [C.SPDM_HEARTBEAT, C.SPDM_HEARTBEAT_ACK],
  'key-update': [C.SPDM_KEY_UPDATE, C.SPDM_KEY_UPDATE_ACK],
  'end-session': [C.SPDM_END_SESSION, C.SPDM_END_SESSION_ACK],
  'vendor-defined': [C.SPDM_VENDOR_DEFINED_REQUEST, C.SPDM_VENDOR_DEFINED_RESPONSE],
};

/** A message together with the context it is encoded and decoded under. */
export type SessionCase = SpdmCase;

export const arbSessionVersion = fc.constantFrom(
  C.SPDM_VERSION_11,
  C.SPDM_VERSION_12,
  C.SPDM_VERSION_13,
);
const arbAnyVersion = fc.constantFrom(
  C.SPDM_VERSION_10,
  C.SPDM_VERSION_11,
  C.SPDM_VERSION_12,
  C.SPDM_VERSION_13,
);

/** Sizes of real algorithm choices: H, S, D and sometimes a different requester S. */
export const arbSizes: fc.Arbitrary<AlgorithmSizes> = rec({
  hashSize: fc.constantFrom(32, 48, 64),
  signatureSize: fc.constantFrom(...SIG_SIZES),
  dheSize: fc.constantFrom(64, 96, 132, 256, 384, 512),
  reqSignatureSize: fc.option(fc.constantFrom(...SIG_SIZES), { nil: undefined }),
});

/** param1 bits 7:1 (bit 0 has a meaning), undefined or non-zero. */
const rsvHigh7 = fc.option(
  fc.integer({ min: 1, max: 0x7f }).map((x) => x << 1),
  { nil: undefined },
);

// ---- opaque data ----

const arbElement: fc.Arbitrary<OpaqueElement> = fc
  .record({ id: u8, vendorId: varBytes(6), data: varBytes(24), padSeed: varBytes(3) })
  .map(({ id, vendorId, data, padSeed }) => {
    const pad = (4 - ((4 + vendorId.length + data.length) & 3)) & 3;
    const p = padSeed.slice(0, pad);
    // Padding is kept only when not all zero, like the decoder does.
    const padding = p.length === pad && p.some((x) => x !== 0) ? p : undefined;
    return { id, vendorId, data, padding };
  });

export const arbSecuredMessageData: fc.Arbitrary<SecuredMessageData> = fc.oneof(
  rec({
    kind: fc.constant('supported-versions' as const),
    smDataVersion: u8,
    versions: fc.array(u16, { maxLength: 6 }),
  }),
  rec({
    kind: fc.constant('version-selection' as const),
    smDataVersion: u8,
    selectedVersion: u16,
  }),
  rec({
    kind: fc.constant('unknown' as const),
    smDataVersion: u8,
    smDataId: u8.filter(
      (x) =>
        x !== SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_SUPPORTED_VERSION &&
        x !== SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_VERSION_SELECTION,
    ),
    data: varBytes(12),
  }),
);

/** A DMTF secured-message element, so opaque tables often carry real SMData. */
const arbSmElement: fc.Arbitrary<OpaqueElement> = arbSecuredMessageData.map((d) => ({
  id: C.SPDM_REGISTRY_ID_DMTF,
  vendorId: new Uint8Array(0),
  data: encodeSecuredMessageData(d),
  padding: undefined,
}));

/** An opaque table in the layout `version` uses. */
export function arbOpaqueData(version: number): fc.Arbitrary<OpaqueData> {
  const elements = fc.array(fc.oneof(arbSmElement, arbElement), { maxLength: 4 });
  return version >= C.SPDM_VERSION_12
    ? rec({
        format: fc.constant('fmt1' as const),
        elements,
        reserved: fc.option(fc.integer({ min: 1, max: 0xffffff }), { nil: undefined }),
      })
    : rec({
        format: fc.constant('spec-id' as const),
        opaqueVersion: u8,
        elements,
        reserved: rsvU16,
      });
}

/** OpaqueData field contents: a real table most of the time, arbitrary bytes otherwise. */
function arbOpaqueField(version: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 3, arbitrary: arbOpaqueData(version).map(encodeOpaqueData) },
    { weight: 1, arbitrary: varBytes(40) },
  );
}

// ---- KEY_EXCHANGE ----

export function arbKeyExchange(version: number, sizes: AlgorithmSizes): fc.Arbitrary<KeyExchange> {
  const is12 = version >= C.SPDM_VERSION_12;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_KEY_EXCHANGE),
    measurementSummaryHashType: hashType,
    slotId: u8,
    reqSessionId: u16,
    sessionPolicy: is12 ? u8 : fc.constant(0),
    reserved: is12 ? rsvU8 : rsvU16,
    randomData: bytes(C.SPDM_RANDOM_SIZE),
    exchangeData: bytes(sizes.dheSize),
    opaqueData: arbOpaqueField(version),
  });
}

export function arbKeyExchangeRsp(
  version: number,
  ctx: SpdmCodecContext,
): fc.Arbitrary<KeyExchangeRsp> {
  const s = ctx.sizes!;
  const req = ctx.request as KeyExchange;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_KEY_EXCHANGE_RSP),
    heartbeatPeriod: u8,
    param2Reserved: rsvU8,
    rspSessionId: u16,
    mutAuthRequested: u8,
    reqSlotIdParam: u8,
    randomData: bytes(C.SPDM_RANDOM_SIZE),
    exchangeData: bytes(s.dheSize),
    measurementSummaryHash:
      req.measurementSummaryHashType !== 0 ? bytes(s.hashSize) : fc.constant(undefined),
    opaqueData: arbOpaqueField(version),
    signature: bytes(s.signatureSize),
    verifyData: ctx.handshakeInTheClear ? fc.constant(undefined) : bytes(s.hashSize),
  });
}

// ---- FINISH ----

export function arbFinish(version: number, sizes: AlgorithmSizes): fc.Arbitrary<Finish> {
  const reqS = sizes.reqSignatureSize ?? sizes.signatureSize;
  return fc
    .record({
      signatureIncluded: fc.boolean(),
      param1Reserved: rsvHigh7,
      reqSlotId: u8,
      sig: bytes(reqS),
      verifyData: bytes(sizes.hashSize),
    })
    .map(({ sig, ...f }) => ({
      version,
      code: C.SPDM_FINISH,
      signatureIncluded: f.signatureIncluded,
      param1Reserved: f.param1Reserved,
      reqSlotId: f.reqSlotId,
      signature: f.signatureIncluded ? sig : undefined,
      verifyData: f.verifyData,
    }));
}

export function arbFinishRsp(version: number, ctx: SpdmCodecContext): fc.Arbitrary<FinishRsp> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_FINISH_RSP),
    param1Reserved: rsvU8,
    param2Reserved: rsvU8,
    verifyData: ctx.handshakeInTheClear ? bytes(ctx.sizes!.hashSize) : fc.constant(undefined),
  });
}

// ---- PSK ----

export function arbPskExchange(version: number): fc.Arbitrary<PskExchange> {
  const is12 = version >= C.SPDM_VERSION_12;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_PSK_EXCHANGE),
    measurementSummaryHashType: hashType,
    sessionPolicy: is12 ? u8 : fc.constant(0),
    param2Reserved: is12 ? fc.constant(undefined) : rsvU8,
    reqSessionId: u16,
    pskHint: varBytes(32),
    requesterContext: varBytes(72),
    opaqueData: arbOpaqueField(version),
  });
}

export function arbPskExchangeRsp(
  version: number,
  ctx: SpdmCodecContext,
): fc.Arbitrary<PskExchangeRsp> {
  const h = ctx.sizes!.hashSize;
  const req = ctx.request as PskExchange;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_PSK_EXCHANGE_RSP),
    heartbeatPeriod: u8,
    param2Reserved: rsvU8,
    rspSessionId: u16,
    reserved: rsvU16,
    measurementSummaryHash:
      req.measurementSummaryHashType !== 0 ? bytes(h) : fc.constant(undefined),
    responderContext: varBytes(72),
    opaqueData: arbOpaqueField(version),
    verifyData: bytes(h),
  });
}

export function arbPskFinish(version: number, sizes: AlgorithmSizes): fc.Arbitrary<PskFinish> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_PSK_FINISH),
    param1Reserved: rsvU8,
    param2Reserved: rsvU8,
    verifyData: bytes(sizes.hashSize),
  });
}

export function arbPskFinishRsp(version: number): fc.Arbitrary<PskFinishRsp> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_PSK_FINISH_RSP),
    param1Reserved: rsvU8,
    param2Reserved: rsvU8,
  });
}

// ---- header-only messages ----

export function arbHeartbeat(version: number): fc.Arbitrary<Heartbeat | HeartbeatAck> {
  return rec({
    version: fc.constant(version),
    code: fc.constantFrom(C.SPDM_HEARTBEAT, C.SPDM_HEARTBEAT_ACK),
    param1Reserved: rsvU8,
    param2Reserved: rsvU8,
  });
}

export function arbKeyUpdate(version: number): fc.Arbitrary<KeyUpdate | KeyUpdateAck> {
  return rec({
    version: fc.constant(version),
    code: fc.constantFrom(C.SPDM_KEY_UPDATE, C.SPDM_KEY_UPDATE_ACK),
    keyOperation: fc.oneof(fc.constantFrom(1, 2, 3), u8),
    tag: u8,
  });
}

export function arbEndSession(version: number): fc.Arbitrary<EndSession | EndSessionAck> {
  return fc.oneof(
    rec({
      version: fc.constant(version),
      code: fc.constant(C.SPDM_END_SESSION),
      preserveNegotiatedStateClear: fc.boolean(),
      param1Reserved: rsvHigh7,
      param2Reserved: rsvU8,
    }),
    rec({
      version: fc.constant(version),
      code: fc.constant(C.SPDM_END_SESSION_ACK),
      param1Reserved: rsvU8,
      param2Reserved: rsvU8,
    }),
  );
}

// ---- VENDOR_DEFINED ----

export function arbVendorDefined(
  version: number,
): fc.Arbitrary<VendorDefinedRequest | VendorDefinedResponse> {
  const pciSig = rec({
    standardId: fc.constant(C.SPDM_REGISTRY_ID_PCISIG),
    vendorId: fc.constantFrom(Uint8Array.of(0x01, 0x00), Uint8Array.of(0x98, 0x1e)),
  });
  const other = rec({ standardId: u16, vendorId: varBytes(8) });
  return fc
    .record({
      code: fc.constantFrom(C.SPDM_VENDOR_DEFINED_REQUEST, C.SPDM_VENDOR_DEFINED_RESPONSE),
      param1Reserved: rsvU8,
      param2Reserved: rsvU8,
      id: fc.oneof(pciSig, other),
      payload: varBytes(80),
    })
    .map(({ id, ...f }) => ({ version, ...f, ...id }));
}

// ---- cases ----

/** A context consistent with `family`'s responses: sizes, request and in-the-clear switch. */
function arbContext(family: SessionFamily, version: number): fc.Arbitrary<SpdmCodecContext> {
  return arbSizes.chain((sizes) => {
    const request =
      family === 'key-exchange'
        ? arbKeyExchange(version, sizes)
        : family === 'psk'
          ? arbPskExchange(version)
          : fc.constant(undefined);
    return rec({
      sizes: fc.constant(sizes),
      request,
      handshakeInTheClear: fc.boolean(),
    });
  });
}

/** Any message of `family` at `version`, consistent with `ctx`. */
export function arbFamilyMessage(
  family: SessionFamily,
  version: number,
  ctx: SpdmCodecContext,
): fc.Arbitrary<SpdmMessage> {
  const s = ctx.sizes!;
  switch (family) {
    case 'key-exchange':
      return fc.oneof(arbKeyExchange(version, s), arbKeyExchangeRsp(version, ctx));
    case 'finish':
      return fc.oneof(arbFinish(version, s), arbFinishRsp(version, ctx));
    case 'psk':
      return fc.oneof(
        arbPskExchange(version),
        arbPskExchangeRsp(version, ctx),
        arbPskFinish(version, s),
        arbPskFinishRsp(version),
      );
    case 'heartbeat':
      return arbHeartbeat(version);
    case 'key-update':
      return arbKeyUpdate(version);
    case 'end-session':
      return arbEndSession(version);
    case 'vendor-defined':
      return arbVendorDefined(version);
  }
}

/** A message of `family` at a random version (1.0 only for VENDOR_DEFINED) and context. */
export function arbFamilyCase(family: SessionFamily): fc.Arbitrary<SessionCase> {
  const versions = family === 'vendor-defined' ? arbAnyVersion : arbSessionVersion;
  return versions.chain((version) =>
    arbContext(family, version).chain((ctx) =>
      arbFamilyMessage(family, version, ctx).map((msg) => ({ msg, ctx })),
    ),
  );
}

// ---- fixed contexts for the robustness runs ----

/** SHA-256 / P-256 with an RSA-2048 requester key, to vary every size. */
export const P256_RSA_SIZES: AlgorithmSizes = {
  hashSize: 32,
  signatureSize: 64,
  dheSize: 64,
  reqSignatureSize: 256,
};

function fixedKeyExchange(hashType: number): KeyExchange {
  return {
    version: C.SPDM_VERSION_12,
    code: C.SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: hashType,
    slotId: 0,
    reqSessionId: 0xffff,
    sessionPolicy: 0,
    reserved: undefined,
    randomData: new Uint8Array(32),
    exchangeData: new Uint8Array(96),
    opaqueData: new Uint8Array(0),
  };
}

function fixedPskExchange(hashType: number): PskExchange {
  return {
    version: C.SPDM_VERSION_12,
    code: C.SPDM_PSK_EXCHANGE,
    measurementSummaryHashType: hashType,
    sessionPolicy: 0,
    param2Reserved: undefined,
    reqSessionId: 0xfffe,
    pskHint: new Uint8Array(0),
    requesterContext: new Uint8Array(0),
    opaqueData: new Uint8Array(0),
  };
}

/**
 * Two contexts per family that between them take every layout branch: with and without a
 * measurement summary hash, in and out of the clear, equal and different signature sizes.
 */
export function robustContexts(family: SessionFamily): SpdmCodecContext[] {
  const request = (t: number) =>
    family === 'key-exchange'
      ? fixedKeyExchange(t)
      : family === 'psk'
        ? fixedPskExchange(t)
        : undefined;
  return [
    { sizes: P384_SIZES, request: request(0xff), handshakeInTheClear: false },
    { sizes: P256_RSA_SIZES, request: request(0), handshakeInTheClear: true },
  ];
}

// ---- property drivers ----

/** decodeSpdm restricted to one family, so mutated codes never reach other families' codecs. */
export function decodeFamily(
  family: SessionFamily,
  bytes: Uint8Array,
  ctx: SpdmCodecContext,
): SpdmMessage {
  return decodeWithin(FAMILY_CODES[family], bytes, ctx);
}

/** message -> bytes -> message is the identity, for every version and context. */
export function checkMessageRoundTrip(family: SessionFamily, numRuns = 300): void {
  checkCasesRoundTrip(arbFamilyCase(family), numRuns);
}

/**
 * Every byte string that decodes re-encodes to itself: valid encodings with up to four
 * bytes overwritten (the code byte excepted), decoded under the case's context.
 */
export function checkBytesRoundTrip(family: SessionFamily, numRuns = 500): void {
  checkCasesBytesRoundTrip(
    arbFamilyCase(family),
    (b, ctx) => decodeFamily(family, b, ctx),
    numRuns,
  );
}

/** checkRobust over the family, its runs split between the family's fixed contexts. */
export function checkFamilyRobust(family: SessionFamily, runs = FUZZ_RUNS): void {
  const versions = family === 'vendor-defined' ? arbAnyVersion : arbSessionVersion;
  checkContextsRobust(
    family,
    robustContexts(family),
    (ctx) => versions.chain((v) => arbFamilyMessage(family, v, ctx)),
    (b, ctx) => decodeFamily(family, b, ctx),
    runs,
  );
}
