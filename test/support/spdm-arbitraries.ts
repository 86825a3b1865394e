/**
 * fast-check arbitraries for the SPDM negotiation and authentication families
 * (GET_VERSION/VERSION, GET_CAPABILITIES/CAPABILITIES, NEGOTIATE_ALGORITHMS/ALGORITHMS,
 * GET_DIGESTS/DIGESTS, GET_CERTIFICATE/CERTIFICATE and the chain buffer, CHALLENGE/
 * CHALLENGE_AUTH, GET_MEASUREMENTS/MEASUREMENTS with measurement blocks, ERROR,
 * RESPOND_IF_READY). The session families live in spdm-arbitraries-session.ts.
 *
 * Reserved fields are undefined or non-zero (decoders give undefined for zero). Messages are
 * generated consistent with a codec context (sizes, the request a response answers). The
 * decoders leave some optional keys absent and others present-but-undefined, so comparisons
 * go through `canon`, which drops undefined-valued keys.
 *
 * The end of the file has the property drivers every family's test runs: message -> bytes
 * -> message, decodable bytes -> message -> the same bytes, and the checkRobust run.
 */
import fc from 'fast-check';
import type {
  Algorithms,
  AlgStructTable,
  NegotiateAlgorithms,
} from '../../src/wire/spdm/algorithms.ts';
import type { Capabilities, GetCapabilities } from '../../src/wire/spdm/capabilities.ts';
import type { CertChain } from '../../src/wire/spdm/cert-chain.ts';
import type { Certificate, GetCertificate } from '../../src/wire/spdm/certificate.ts';
import type { Challenge, ChallengeAuth } from '../../src/wire/spdm/challenge.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { AlgorithmSizes, SpdmCodecContext } from '../../src/wire/spdm/context.ts';
import type { Digests, GetDigests } from '../../src/wire/spdm/digests.ts';
import type { ErrorResponse } from '../../src/wire/spdm/error.ts';
import type {
  GetMeasurements,
  MeasurementBlock,
  Measurements,
} from '../../src/wire/spdm/measurements.ts';
import type { SpdmMessage } from '../../src/wire/spdm/messages.ts';
import type { RespondIfReady } from '../../src/wire/spdm/respond-if-ready.ts';
import type { GetVersion, Version, VersionEntry } from '../../src/wire/spdm/version.ts';
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

export type AuthFamily =
  | 'version'
  | 'capabilities'
  | 'algorithms'
  | 'digests'
  | 'certificate'
  | 'challenge'
  | 'measurements'
  | 'error'
  | 'respond-if-ready';

export const AUTH_FAMILIES: AuthFamily[] = [
  'version',
  'capabilities',
  'algorithms',
  'digests',
  'certificate',
  'challenge',
  'measurements',
  'error',
  'respond-if-ready',
];

/** The RequestResponseCodes of each family. */
export const AUTH_FAMILY_CODES: Record<AuthFamily, number[]> = {
  version: [C.SPDM_GET_VERSION, C.SPDM_VERSION],
  capabilities: [C.SPDM_GET_CAPABILITIES, C.SPDM_CAPABILITIES],
  algorithms: [C.SPDM_NEGOTIATE_ALGORITHMS, C.SPDM_ALGORITHMS],
  digests: [C.SPDM_GET_DIGESTS, C.SPDM_DIGESTS],
  certificate: [C.SPDM_GET_CERTIFICATE, C.SPDM_CERTIFICATE],
  challenge: [C.SPDM_CHALLENGE, C.SPDM_CHALLENGE_AUTH],
  measurements: [C.SPDM_GET_MEASUREMENTS, C.SPDM_MEASUREMENTS],
  error: [C.SPDM_ERROR],
  'respond-if-ready': [C.SPDM_RESPOND_IF_READY],
};

/** Families whose layout does not depend on the header version (any byte decodes). */
const VERSION_AGNOSTIC = new Set<AuthFamily>(['version', 'error', 'respond-if-ready']);

/** A message together with the context it is encoded and decoded under. */
export type AuthCase = SpdmCase;

/** The object without undefined-valued keys, recursively (typed arrays left alone). */
export function canon<T>(x: T): T {
  if (Array.isArray(x)) return x.map(canon) as T;
  if (x && typeof x === 'object' && !ArrayBuffer.isView(x)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) out[k] = canon(v);
    return out as T;
  }
  return x;
}

// ---- primitives ----

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const none = fc.constant(undefined);
/** Reserved high nibble of a param byte, in place. */
const rsvHighNibble = fc.option(
  fc.integer({ min: 1, max: 0xf }).map((x) => x << 4),
  { nil: undefined },
);
const rsvBytes = (n: number) =>
  fc.option(
    bytes(n).filter((b) => b.some((x) => x !== 0)),
    { nil: undefined },
  );

/** SPDMVersion bytes with a known layout. */
export const arbLayoutVersion = fc.constantFrom(
  C.SPDM_VERSION_10,
  C.SPDM_VERSION_11,
  C.SPDM_VERSION_12,
  C.SPDM_VERSION_13,
);

/** Sizes of real algorithm choices. */
export const arbAuthSizes: fc.Arbitrary<AlgorithmSizes> = rec({
  hashSize: fc.constantFrom(32, 48, 64),
  signatureSize: fc.constantFrom(...SIG_SIZES),
  dheSize: fc.constantFrom(64, 96, 132, 256, 384, 512),
});

export const SHA256_RSA3072_SIZES: AlgorithmSizes = {
  hashSize: 32,
  signatureSize: 384,
  dheSize: 384,
};

// ---- VERSION ----

export const arbVersionEntry: fc.Arbitrary<VersionEntry> = rec({
  major: fc.integer({ min: 0, max: 15 }),
  minor: fc.integer({ min: 0, max: 15 }),
  update: fc.integer({ min: 0, max: 15 }),
  alpha: fc.integer({ min: 0, max: 15 }),
});

export function arbGetVersion(version: number): fc.Arbitrary<GetVersion> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_GET_VERSION),
    reserved1: rsvU8,
    reserved2: rsvU8,
  });
}

export function arbVersion(version: number): fc.Arbitrary<Version> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_VERSION),
    reserved1: rsvU8,
    reserved2: rsvU8,
    reservedAt4: rsvU8,
    entries: fc.array(arbVersionEntry, { maxLength: 8 }),
  });
}

// ---- CAPABILITIES ----

export function arbGetCapabilities(version: number): fc.Arbitrary<GetCapabilities> {
  const v11 = version >= C.SPDM_VERSION_11;
  const v12 = version >= C.SPDM_VERSION_12;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_GET_CAPABILITIES),
    param1: u8,
    reserved2: rsvU8,
    reservedAt4: v11 ? rsvU8 : none,
    ctExponent: v11 ? u8 : none,
    reservedAt6: v11 ? rsvU16 : none,
    flags: v11 ? u32 : none,
    dataTransferSize: v12 ? u32 : none,
    maxSpdmMsgSize: v12 ? u32 : none,
  });
}

export function arbCapabilities(
  version: number,
  ctx: SpdmCodecContext = {},
): fc.Arbitrary<Capabilities> {
  const v12 = version >= C.SPDM_VERSION_12;
  const req = ctx.request;
  const asked =
    req?.code !== C.SPDM_GET_CAPABILITIES ||
    (req.param1 & C.SPDM_GET_CAPABILITIES_PARAM1_SUPPORTED_ALGORITHMS) !== 0;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_CAPABILITIES),
    param1: u8,
    reserved2: rsvU8,
    reservedAt4: rsvU8,
    ctExponent: u8,
    reservedAt6: rsvU16,
    flags: u32,
    dataTransferSize: v12 ? u32 : none,
    maxSpdmMsgSize: v12 ? u32 : none,
    supportedAlgorithms:
      version >= C.SPDM_VERSION_13 && asked
        ? fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined })
        : none,
  });
}

// ---- ALGORITHMS ----

export const arbAlgStructTable: fc.Arbitrary<AlgStructTable> = rec({
  algType: fc.oneof(fc.constantFrom(2, 3, 4, 5), u8),
  algSupported: u16,
  algExternal: fc.array(bytes(4), { maxLength: 3 }),
});

const extList = fc.array(bytes(4), { maxLength: 3 });

export function arbNegotiateAlgorithms(version: number): fc.Arbitrary<NegotiateAlgorithms> {
  const v11 = version >= C.SPDM_VERSION_11;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_NEGOTIATE_ALGORITHMS),
    reserved1: v11 ? none : rsvU8,
    reserved2: rsvU8,
    measurementSpecification: u8,
    otherParamsSupport: u8,
    baseAsymAlgo: u32,
    baseHashAlgo: u32,
    reservedAt16: rsvBytes(12),
    reservedAt30: rsvU8,
    melSpecification: u8,
    extAsym: extList,
    extHash: extList,
    algStructs: v11 ? fc.array(arbAlgStructTable, { maxLength: 5 }) : fc.constant([]),
  });
}

export function arbAlgorithms(version: number): fc.Arbitrary<Algorithms> {
  const v11 = version >= C.SPDM_VERSION_11;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_ALGORITHMS),
    reserved1: v11 ? none : rsvU8,
    reserved2: rsvU8,
    measurementSpecificationSel: u8,
    otherParamsSelection: u8,
    measurementHashAlgo: u32,
    baseAsymSel: u32,
    baseHashSel: u32,
    reservedAt20: rsvBytes(11),
    melSpecificationSel: u8,
    reservedAt34: rsvU16,
    extAsymSel: extList,
    extHashSel: extList,
    algStructs: v11 ? fc.array(arbAlgStructTable, { maxLength: 5 }) : fc.constant([]),
  });
}

// ---- DIGESTS ----

export function arbGetDigests(version: number): fc.Arbitrary<GetDigests> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_GET_DIGESTS),
    reserved1: rsvU8,
    reserved2: rsvU8,
  });
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

export function arbDigests(version: number, sizes: AlgorithmSizes): fc.Arbitrary<Digests> {
  return fc.tuple(u8, u8).chain(([supportedSlotMask, slotMask]) => {
    const n = popcount(slotMask);
    const multi = version >= C.SPDM_VERSION_13 && n > 0;
    const arr = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: n, maxLength: n });
    return fc
      .record({
        digests: arr(bytes(sizes.hashSize)),
        multiKey: multi
          ? fc.option(fc.tuple(arr(u8), arr(u8), arr(u16)), { nil: undefined })
          : none,
      })
      .map(
        ({ digests, multiKey }): Digests => ({
          version,
          code: C.SPDM_DIGESTS,
          supportedSlotMask,
          slotMask,
          digests,
          keyPairIds: multiKey?.[0],
          certificateInfos: multiKey?.[1],
          keyUsageMasks: multiKey?.[2],
        }),
      );
  });
}

// ---- CERTIFICATE and the chain buffer ----

export function arbGetCertificate(version: number): fc.Arbitrary<GetCertificate> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_GET_CERTIFICATE),
    slotId: fc.integer({ min: 0, max: 15 }),
    reserved1: rsvHighNibble,
    requestAttributes: u8,
    offset: u16,
    length: u16,
  });
}

export function arbCertificate(version: number): fc.Arbitrary<Certificate> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_CERTIFICATE),
    slotId: fc.integer({ min: 0, max: 15 }),
    reserved1: rsvHighNibble,
    responseAttributes: u8,
    remainderLength: u16,
    certChain: varBytes(96),
  });
}

/**
 * A DER-shaped certificate: SEQUENCE tag, a length in any form that can hold it (short,
 * or long with 1..4 length bytes, non-minimal ones included), arbitrary contents.
 */
export const arbDerCertificate: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 128, max: 600 })), u8)
  .chain(([len, pick]) => {
    const forms = len < 128 ? [0, 1, 2, 3, 4] : len < 256 ? [1, 2, 3, 4] : [2, 3, 4];
    const form = forms[pick % forms.length];
    const head = [0x30];
    if (form === 0) head.push(len);
    else {
      head.push(0x80 | form);
      for (let i = form - 1; i >= 0; i--) head.push(Math.floor(len / 256 ** i) & 0xff);
    }
    return bytes(len).map((body) => Uint8Array.from([...head, ...body]));
  });

export function arbCertChain(hashSize: number): fc.Arbitrary<CertChain> {
  return rec({
    reserved: rsvU16,
    rootHash: bytes(hashSize),
    certificates: fc.array(arbDerCertificate, { maxLength: 4 }),
  });
}

// ---- CHALLENGE ----

export function arbChallenge(version: number): fc.Arbitrary<Challenge> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_CHALLENGE),
    slotId: u8,
    measurementSummaryHashType: hashType,
    nonce: bytes(32),
    requesterContext: version >= C.SPDM_VERSION_13 ? bytes(8) : none,
  });
}

/** CHALLENGE_AUTH under `ctx`: ctx.sizes and a CHALLENGE in ctx.request are required. */
export function arbChallengeAuth(
  version: number,
  ctx: SpdmCodecContext,
): fc.Arbitrary<ChallengeAuth> {
  const sizes = ctx.sizes ?? P384_SIZES;
  const req = ctx.request;
  const summary = req?.code === C.SPDM_CHALLENGE && req.measurementSummaryHashType !== 0;
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_CHALLENGE_AUTH),
    slotId: fc.integer({ min: 0, max: 15 }),
    reserved1: rsvHighNibble,
    slotMask: u8,
    certChainHash: bytes(sizes.hashSize),
    nonce: bytes(32),
    measurementSummaryHash: summary ? bytes(sizes.hashSize) : none,
    opaqueData: varBytes(64),
    requesterContext: version >= C.SPDM_VERSION_13 ? bytes(8) : none,
    signature: bytes(sizes.signatureSize),
  });
}

// ---- MEASUREMENTS ----

export function arbGetMeasurements(version: number): fc.Arbitrary<GetMeasurements> {
  return u8.chain((attributes) => {
    const signed = (attributes & C.SPDM_MEAS_ATTR_SIGNATURE_REQUESTED) !== 0;
    return rec({
      version: fc.constant(version),
      code: fc.constant(C.SPDM_GET_MEASUREMENTS),
      attributes: fc.constant(attributes),
      operation: fc.oneof(fc.constantFrom(0, 1, 0xfe, 0xff), u8),
      nonce: signed ? bytes(32) : none,
      slotIdParam: signed && version >= C.SPDM_VERSION_11 ? u8 : none,
      requesterContext: version >= C.SPDM_VERSION_13 ? bytes(8) : none,
    });
  });
}

export const arbMeasurementBlock: fc.Arbitrary<MeasurementBlock> = fc.oneof(
  rec({
    kind: fc.constant('dmtf' as const),
    index: u8,
    valueType: fc.integer({ min: 0, max: 0x7f }),
    rawBitStream: fc.boolean(),
    value: varBytes(80),
  }),
  rec({
    kind: fc.constant('raw' as const),
    index: u8,
    measurementSpecification: u8.filter((x) => x !== C.SPDM_MEASUREMENT_SPEC_DMTF),
    measurement: varBytes(40),
  }),
);

/**
 * MEASUREMENTS under `ctx`: signed iff ctx.request (a GET_MEASUREMENTS) asks for it; with no
 * request, signed or not at random (the decoder then infers it from what is left).
 */
export function arbMeasurements(
  version: number,
  ctx: SpdmCodecContext,
): fc.Arbitrary<Measurements> {
  const sizes = ctx.sizes ?? P384_SIZES;
  const req = ctx.request;
  const sig = bytes(sizes.signatureSize);
  const signature =
    req?.code === C.SPDM_GET_MEASUREMENTS
      ? (req.attributes & C.SPDM_MEAS_ATTR_SIGNATURE_REQUESTED) !== 0
        ? sig
        : none
      : fc.option(sig, { nil: undefined });
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_MEASUREMENTS),
    totalNumberOfMeasurements: u8,
    slotId: fc.integer({ min: 0, max: 15 }),
    contentChanged: fc.integer({ min: 0, max: 3 }),
    reserved2: fc.option(
      fc.integer({ min: 1, max: 3 }).map((x) => x << 6),
      { nil: undefined },
    ),
    blocks: fc.array(arbMeasurementBlock, { maxLength: 6 }),
    nonce: bytes(32),
    opaqueData: varBytes(48),
    requesterContext: version >= C.SPDM_VERSION_13 ? bytes(8) : none,
    signature,
  });
}

// ---- ERROR, RESPOND_IF_READY ----

export function arbErrorResponse(version: number): fc.Arbitrary<ErrorResponse> {
  const rnr = C.SPDM_ERROR_CODE.ResponseNotReady;
  return fc
    .oneof(fc.constant(rnr), fc.constantFrom(...Object.values(C.SPDM_ERROR_CODE)), u8)
    .chain((errorCode) =>
      rec({
        version: fc.constant(version),
        code: fc.constant(C.SPDM_ERROR),
        errorCode: fc.constant(errorCode),
        errorData: u8,
        responseNotReady:
          errorCode === rnr ? rec({ rdtExponent: u8, requestCode: u8, token: u8, rdtm: u8 }) : none,
        extendedData:
          errorCode === rnr
            ? none
            : errorCode === C.SPDM_ERROR_CODE.LargeResponse
              ? fc.uint8Array({ minLength: 1, maxLength: 1 })
              : varBytes(32),
      }),
    );
}

export function arbRespondIfReady(version: number): fc.Arbitrary<RespondIfReady> {
  return rec({
    version: fc.constant(version),
    code: fc.constant(C.SPDM_RESPOND_IF_READY),
    requestCode: u8,
    token: u8,
  });
}

// ---- families ----

/** A message of `family` at `version`, consistent with `ctx`. */
export function arbAuthMessage(
  family: AuthFamily,
  version: number,
  ctx: SpdmCodecContext,
): fc.Arbitrary<SpdmMessage> {
  const sizes = ctx.sizes ?? P384_SIZES;
  const any = <T extends SpdmMessage>(...a: fc.Arbitrary<T>[]) =>
    fc.oneof(...a) as fc.Arbitrary<SpdmMessage>;
  switch (family) {
    case 'version':
      return any<GetVersion | Version>(arbGetVersion(version), arbVersion(version));
    case 'capabilities':
      return any<GetCapabilities | Capabilities>(
        arbGetCapabilities(version),
        arbCapabilities(version, ctx),
      );
    case 'algorithms':
      return any<NegotiateAlgorithms | Algorithms>(
        arbNegotiateAlgorithms(version),
        arbAlgorithms(version),
      );
    case 'digests':
      return any<GetDigests | Digests>(arbGetDigests(version), arbDigests(version, sizes));
    case 'certificate':
      return any<GetCertificate | Certificate>(arbGetCertificate(version), arbCertificate(version));
    case 'challenge':
      return any<Challenge | ChallengeAuth>(arbChallenge(version), arbChallengeAuth(version, ctx));
    case 'measurements':
      return any<GetMeasurements | Measurements>(
        arbGetMeasurements(version),
        arbMeasurements(version, ctx),
      );
    case 'error':
      return arbErrorResponse(version) as fc.Arbitrary<SpdmMessage>;
    case 'respond-if-ready':
      return arbRespondIfReady(version) as fc.Arbitrary<SpdmMessage>;
  }
}

function arbFamilyVersion(family: AuthFamily): fc.Arbitrary<number> {
  return VERSION_AGNOSTIC.has(family) ? fc.oneof(arbLayoutVersion, u8) : arbLayoutVersion;
}

/** A random context for `family` at `version`: sizes, and a request where one matters. */
function arbFamilyContext(family: AuthFamily, version: number): fc.Arbitrary<SpdmCodecContext> {
  const request: fc.Arbitrary<SpdmMessage | undefined> =
    family === 'challenge'
      ? arbChallenge(version)
      : family === 'measurements'
        ? fc.option(arbGetMeasurements(version), { nil: undefined })
        : family === 'capabilities'
          ? fc.option(arbGetCapabilities(version), { nil: undefined })
          : none;
  return fc.record({ sizes: arbAuthSizes, request });
}

/** A random case of `family`: version, context, message. */
export function arbAuthCase(family: AuthFamily): fc.Arbitrary<AuthCase> {
  return arbFamilyVersion(family).chain((version) =>
    arbFamilyContext(family, version).chain((ctx) =>
      arbAuthMessage(family, version, ctx).map((msg) => ({ msg, ctx })),
    ),
  );
}

const fixedChallenge = (type: number): Challenge => ({
  version: C.SPDM_VERSION_13,
  code: C.SPDM_CHALLENGE,
  slotId: 0,
  measurementSummaryHashType: type,
  nonce: new Uint8Array(32),
  requesterContext: new Uint8Array(8),
});

const fixedGetMeasurements = (attributes: number): GetMeasurements => ({
  version: C.SPDM_VERSION_12,
  code: C.SPDM_GET_MEASUREMENTS,
  attributes,
  operation: 0xff,
  nonce: attributes & 1 ? new Uint8Array(32) : undefined,
  slotIdParam: attributes & 1 ? 0 : undefined,
});

/** Fixed contexts per family that between them take every layout branch. */
export function authRobustContexts(family: AuthFamily): SpdmCodecContext[] {
  switch (family) {
    case 'challenge':
      return [
        { sizes: P384_SIZES, request: fixedChallenge(0xff) },
        { sizes: SHA256_RSA3072_SIZES, request: fixedChallenge(0) },
      ];
    case 'measurements':
      return [
        { sizes: P384_SIZES, request: fixedGetMeasurements(1) },
        { sizes: SHA256_RSA3072_SIZES, request: fixedGetMeasurements(0) },
        { sizes: P384_SIZES },
      ];
    case 'capabilities':
      return [
        {},
        {
          request: {
            version: C.SPDM_VERSION_13,
            code: C.SPDM_GET_CAPABILITIES,
            param1: 0,
            ctExponent: 0,
            flags: 0,
            dataTransferSize: 0,
            maxSpdmMsgSize: 0,
          },
        },
      ];
    case 'digests':
      return [{ sizes: P384_SIZES }, { sizes: SHA256_RSA3072_SIZES }];
    default:
      return [{}];
  }
}

// ---- property drivers ----

/** decodeSpdm restricted to one family, so mutated codes never reach other families' codecs. */
export function decodeAuthFamily(
  family: AuthFamily,
  bytes: Uint8Array,
  ctx: SpdmCodecContext,
): SpdmMessage {
  return decodeWithin(AUTH_FAMILY_CODES[family], bytes, ctx);
}

/** message -> bytes -> message is the identity, for every version and context. */
export function checkAuthMessageRoundTrip(family: AuthFamily, numRuns = 300): void {
  checkCasesRoundTrip(arbAuthCase(family), numRuns, canon);
}

/**
 * Every byte string that decodes re-encodes to itself: valid encodings with up to four
 * bytes overwritten (the code byte excepted), decoded under the case's context.
 */
export function checkAuthBytesRoundTrip(family: AuthFamily, numRuns = 500): void {
  checkCasesBytesRoundTrip(
    arbAuthCase(family),
    (b, ctx) => decodeAuthFamily(family, b, ctx),
    numRuns,
  );
}

/** checkRobust over the family, its runs split between the family's fixed contexts. */
export function checkAuthRobust(family: AuthFamily, runs = FUZZ_RUNS): void {
  checkContextsRobust(
    family,
    authRobustContexts(family),
    (ctx) => arbFamilyVersion(family).chain((v) => arbAuthMessage(family, v, ctx)),
    (b, ctx) => decodeAuthFamily(family, b, ctx),
    runs,
  );
}
