/**
 * fast-check arbitraries for IDE_KM, TDISP and the TDISP interface report.
 *
 * Two kinds: message objects (for object -> bytes -> object round trips) and valid byte
 * encodings built here independently of the encoders (for bytes -> object -> bytes round
 * trips and as seeds for checkRobust). Reserved fields are either absent or non-zero, as the
 * decoders produce them.
 */
import fc from 'fast-check';
import {
  IDE_SUB_STREAM,
  type IdeKmMessage,
  type KeySubStream,
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
  PCI_IDE_KM_OBJECT_ID_QUERY,
  PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
} from '../../src/wire/idekm/index.ts';
import {
  type InterfaceId,
  type InterfaceInfo,
  type InterfaceReport,
  type MmioRange,
  type MmioRangeAttributes,
  PCI_TDISP_BIND_P2P_STREAM_REQ,
  PCI_TDISP_BIND_P2P_STREAM_RSP,
  PCI_TDISP_CAPABILITIES,
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_DEVICE_INTERFACE_STATE,
  PCI_TDISP_ERROR,
  PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR,
  PCI_TDISP_GET_CAPABILITIES,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
  PCI_TDISP_SET_TDISP_CONFIG_REQ,
  PCI_TDISP_SET_TDISP_CONFIG_RSP,
  PCI_TDISP_START_INTERFACE_REQ,
  PCI_TDISP_START_INTERFACE_RSP,
  PCI_TDISP_STOP_INTERFACE_REQ,
  PCI_TDISP_STOP_INTERFACE_RSP,
  PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  PCI_TDISP_UNBIND_P2P_STREAM_RSP,
  PCI_TDISP_VDM_REQ,
  PCI_TDISP_VDM_RSP,
  PCI_TDISP_VERSION,
  type TdispMessage,
} from '../../src/wire/tdisp/index.ts';

/**
 * A plain copy without the keys whose value is undefined, so objects look like what the
 * decoders build (fast-check's records have a null prototype, which deepStrictEqual sees).
 */
function strip<T extends object>(o: T): T {
  const out = {} as T;
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.nat({ max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
/** A reserved field: absent or non-zero. */
const rsv = (max: number) => fc.option(fc.integer({ min: 1, max }), { nil: undefined });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const fixed = (n: number) => bytes(n, n);

// ---------------------------------------------------------------- IDE_KM objects

export const keySubStreamArb: fc.Arbitrary<KeySubStream> = fc
  .record({
    keySet: fc.constantFrom(0 as const, 1 as const),
    direction: fc.constantFrom('RX' as const, 'TX' as const),
    subStream: fc.oneof(
      fc.constantFrom(IDE_SUB_STREAM.PR, IDE_SUB_STREAM.NPR, IDE_SUB_STREAM.CPL),
      fc.integer({ min: 0, max: 15 }),
    ),
    reserved: fc.option(fc.constantFrom(0x4, 0x8, 0xc), { nil: undefined }),
  })
  .map(strip);

const streamFields = {
  reserved: rsv(0xffff),
  streamId: u8,
  keySubStream: keySubStreamArb,
  portIndex: u8,
};

export const ideKmQueryArb = fc
  .record({ objectId: fc.constant(PCI_IDE_KM_OBJECT_ID_QUERY), reserved: rsv(0xff), portIndex: u8 })
  .map(strip);

export const ideKmQueryRespArb = fc
  .record({
    objectId: fc.constant(PCI_IDE_KM_OBJECT_ID_QUERY_RESP),
    reserved: rsv(0xff),
    portIndex: u8,
    devFuncNum: u8,
    busNum: u8,
    segment: u8,
    maxPortIndex: u8,
    ideRegisters: fc.array(u32, { maxLength: 80 }),
  })
  .map(strip);

export const ideKmKeyProgArb = fc
  .record({
    objectId: fc.constant(PCI_IDE_KM_OBJECT_ID_KEY_PROG),
    ...streamFields,
    reserved2: rsv(0xff),
    key: fc.array(u32, { minLength: 8, maxLength: 8 }),
    ifv: fc.array(u32, { minLength: 2, maxLength: 2 }),
  })
  .map(strip);

export const ideKmKpAckArb = fc
  .record({
    objectId: fc.constant(PCI_IDE_KM_OBJECT_ID_KP_ACK),
    ...streamFields,
    status: fc.oneof(fc.integer({ min: 0, max: 4 }), u8),
  })
  .map(strip);

const setArb = <C extends 4 | 5 | 6>(objectId: C) =>
  fc.record({ objectId: fc.constant(objectId), ...streamFields, reserved2: rsv(0xff) }).map(strip);

export const ideKmKSetGoArb = setArb(PCI_IDE_KM_OBJECT_ID_K_SET_GO);
export const ideKmKSetStopArb = setArb(PCI_IDE_KM_OBJECT_ID_K_SET_STOP);
export const ideKmKGoStopAckArb = setArb(PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK);

/** Object IDs with a layout in this file (the independent list): others are unknown. */
const IDE_KM_LAYOUT_IDS: readonly number[] = [
  PCI_IDE_KM_OBJECT_ID_QUERY,
  PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
  PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
];
const unknownIdeKmIds = Array.from({ length: 256 }, (_, id) => id).filter(
  (id) => !IDE_KM_LAYOUT_IDS.includes(id),
);

/** The unknown case: an Object ID without a layout and any bytes after it. */
export const ideKmUnknownArb: fc.Arbitrary<IdeKmMessage> = fc
  .record({
    kind: fc.constant('unknown' as const),
    objectId: fc.constantFrom(...unknownIdeKmIds),
    body: bytes(0, 64),
  })
  .map((o) => strip(o) as unknown as IdeKmMessage);

export const ideKmMessageArb: fc.Arbitrary<IdeKmMessage> = fc.oneof(
  ideKmQueryArb,
  ideKmQueryRespArb,
  ideKmKeyProgArb,
  ideKmKpAckArb,
  ideKmKSetGoArb,
  ideKmKSetStopArb,
  ideKmKGoStopAckArb,
  ideKmUnknownArb,
);

// ---------------------------------------------------------------- IDE_KM bytes (independent builder)

const withId = (id: number, rest: fc.Arbitrary<Uint8Array>) =>
  rest.map((b) => Uint8Array.from([id, ...b]));

/** An unknown Object ID followed by any bytes. */
export const ideKmUnknownBytesArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(...unknownIdeKmIds), bytes(0, 64))
  .map(([id, rest]) => Uint8Array.from([id, ...rest]));

/** Valid IDE_KM encodings of every object id and the unknown case; any byte values fit the fixed layouts. */
export const ideKmBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  ideKmUnknownBytesArb,
  withId(PCI_IDE_KM_OBJECT_ID_QUERY, fixed(2)),
  fc
    .tuple(fixed(6), fc.nat({ max: 80 }))
    .chain(([h, n]) => fixed(4 * n).map((regs) => Uint8Array.from([1, ...h, ...regs]))),
  withId(PCI_IDE_KM_OBJECT_ID_KEY_PROG, fixed(46)),
  withId(PCI_IDE_KM_OBJECT_ID_KP_ACK, fixed(6)),
  withId(PCI_IDE_KM_OBJECT_ID_K_SET_GO, fixed(6)),
  withId(PCI_IDE_KM_OBJECT_ID_K_SET_STOP, fixed(6)),
  withId(PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK, fixed(6)),
);

// ---------------------------------------------------------------- TDISP report objects

export const rangeAttributesArb: fc.Arbitrary<MmioRangeAttributes> = fc
  .record({
    msixTable: fc.boolean(),
    msixPba: fc.boolean(),
    nonTee: fc.boolean(),
    updatable: fc.boolean(),
    other: fc.option(
      fc.integer({ min: 1, max: 0xfff }).map((v) => v << 4),
      { nil: undefined },
    ),
  })
  .map(strip);

export const mmioRangeArb: fc.Arbitrary<MmioRange> = fc
  .record({
    firstPage: u64,
    numberOfPages: u32,
    attributes: rangeAttributesArb,
    rangeId: u16,
  })
  .map(strip);

export const interfaceInfoArb: fc.Arbitrary<InterfaceInfo> = fc
  .record({
    noUpdateAfterLock: fc.boolean(),
    dmaWithoutPasid: fc.boolean(),
    dmaWithPasid: fc.boolean(),
    atsSupported: fc.boolean(),
    prsSupported: fc.boolean(),
    xtModeSupported: fc.boolean(),
    other: fc.option(
      fc.integer({ min: 1, max: 0x3ff }).map((v) => v << 6),
      { nil: undefined },
    ),
  })
  .map(strip);

export const interfaceReportArb: fc.Arbitrary<InterfaceReport> = fc
  .record({
    interfaceInfo: interfaceInfoArb,
    reserved: rsv(0xffff),
    msixMessageControl: u16,
    lnrControl: u16,
    tphControl: u32,
    mmioRanges: fc.array(mmioRangeArb, { maxLength: 8 }),
    deviceSpecificInfo: bytes(0, 64),
  })
  .map(strip);

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Valid report encodings built byte by byte: 16-byte fixed part, ranges, info length, info. */
export const interfaceReportBytesArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(fixed(12), fc.nat({ max: 8 }), bytes(0, 64))
  .chain(([head, n, info]) =>
    fixed(16 * n).map((ranges) =>
      Uint8Array.from([...head, ...le32(n), ...ranges, ...le32(info.length), ...info]),
    ),
  );

// ---------------------------------------------------------------- TDISP objects

export const interfaceIdArb: fc.Arbitrary<InterfaceId> = fc
  .record({
    requesterId: u16,
    segment: u8,
    segmentValid: fc.boolean(),
    functionIdReserved: fc.option(
      fc.integer({ min: 1, max: 0x7f }).map((v) => (v << 25) >>> 0),
      { nil: undefined },
    ),
    reserved: fc.option(fc.bigInt({ min: 1n, max: 0xffff_ffff_ffff_ffffn }), { nil: undefined }),
  })
  .map(strip);

const headerOf = <C extends number>(code: C) => ({
  version: fc.oneof(fc.constant(0x10), u8),
  code: fc.constant(code),
  reserved: rsv(0xffff),
  interfaceId: interfaceIdArb,
});

// Typed loosely: the round-trip tests, not the compiler, prove each shape matches its codec.
const msg = <C extends number, B extends Record<string, fc.Arbitrary<unknown>>>(
  code: C,
  body: B,
): fc.Arbitrary<TdispMessage> =>
  fc.record({ ...headerOf(code), ...body }).map((o) => strip(o) as unknown as TdispMessage);

const nonce = fixed(32);

/** One arbitrary per TDISP message type, keyed by MessageType. */
export const tdispArbs: Record<number, fc.Arbitrary<TdispMessage>> = {
  [PCI_TDISP_GET_VERSION]: msg(PCI_TDISP_GET_VERSION, {}),
  [PCI_TDISP_VERSION]: msg(PCI_TDISP_VERSION, { versions: fc.array(u8, { maxLength: 8 }) }),
  [PCI_TDISP_GET_CAPABILITIES]: msg(PCI_TDISP_GET_CAPABILITIES, { tsmCaps: u32 }),
  [PCI_TDISP_CAPABILITIES]: msg(PCI_TDISP_CAPABILITIES, {
    dsmCaps: u32,
    reqMsgsSupported: fixed(16),
    lockInterfaceFlagsSupported: u16,
    capsReserved: fc.option(
      fixed(3).filter((b) => b.some((x) => x !== 0)),
      { nil: undefined },
    ),
    devAddrWidth: u8,
    numReqThis: u8,
    numReqAll: u8,
  }),
  [PCI_TDISP_LOCK_INTERFACE_REQ]: msg(PCI_TDISP_LOCK_INTERFACE_REQ, {
    flags: u16,
    defaultStreamId: u8,
    lockReserved: rsv(0xff),
    mmioReportingOffset: u64,
    bindP2PAddressMask: u64,
  }),
  [PCI_TDISP_LOCK_INTERFACE_RSP]: msg(PCI_TDISP_LOCK_INTERFACE_RSP, { startInterfaceNonce: nonce }),
  [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: msg(PCI_TDISP_GET_DEVICE_INTERFACE_REPORT, {
    offset: u16,
    length: u16,
  }),
  [PCI_TDISP_DEVICE_INTERFACE_REPORT]: msg(PCI_TDISP_DEVICE_INTERFACE_REPORT, {
    portion: bytes(0, 100),
    remainderLength: u16,
  }),
  [PCI_TDISP_GET_DEVICE_INTERFACE_STATE]: msg(PCI_TDISP_GET_DEVICE_INTERFACE_STATE, {}),
  [PCI_TDISP_DEVICE_INTERFACE_STATE]: msg(PCI_TDISP_DEVICE_INTERFACE_STATE, {
    tdiState: fc.oneof(fc.integer({ min: 0, max: 3 }), u8),
  }),
  [PCI_TDISP_START_INTERFACE_REQ]: msg(PCI_TDISP_START_INTERFACE_REQ, {
    startInterfaceNonce: nonce,
  }),
  [PCI_TDISP_START_INTERFACE_RSP]: msg(PCI_TDISP_START_INTERFACE_RSP, {}),
  [PCI_TDISP_STOP_INTERFACE_REQ]: msg(PCI_TDISP_STOP_INTERFACE_REQ, {}),
  [PCI_TDISP_STOP_INTERFACE_RSP]: msg(PCI_TDISP_STOP_INTERFACE_RSP, {}),
  [PCI_TDISP_BIND_P2P_STREAM_REQ]: msg(PCI_TDISP_BIND_P2P_STREAM_REQ, {
    p2pStreamId: u8,
    streamConfig: fc.option(u8, { nil: undefined }),
  }),
  [PCI_TDISP_BIND_P2P_STREAM_RSP]: msg(PCI_TDISP_BIND_P2P_STREAM_RSP, {}),
  [PCI_TDISP_UNBIND_P2P_STREAM_REQ]: msg(PCI_TDISP_UNBIND_P2P_STREAM_REQ, { p2pStreamId: u8 }),
  [PCI_TDISP_UNBIND_P2P_STREAM_RSP]: msg(PCI_TDISP_UNBIND_P2P_STREAM_RSP, {}),
  [PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ]: msg(PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ, {
    mmioRange: mmioRangeArb,
  }),
  [PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP]: msg(PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP, {}),
  [PCI_TDISP_VDM_REQ]: msg(PCI_TDISP_VDM_REQ, {
    registryId: u8,
    vendorId: bytes(0, 8),
    payload: bytes(0, 64),
  }),
  [PCI_TDISP_VDM_RSP]: msg(PCI_TDISP_VDM_RSP, {
    registryId: u8,
    vendorId: bytes(0, 8),
    payload: bytes(0, 64),
  }),
  [PCI_TDISP_SET_TDISP_CONFIG_REQ]: msg(PCI_TDISP_SET_TDISP_CONFIG_REQ, { dsmConfig: u32 }),
  [PCI_TDISP_SET_TDISP_CONFIG_RSP]: msg(PCI_TDISP_SET_TDISP_CONFIG_RSP, {}),
  [PCI_TDISP_ERROR]: fc.oneof(
    msg(PCI_TDISP_ERROR, {
      errorCode: u32.filter((c) => c !== PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR),
      errorData: u32,
      extendedErrorData: fc.option(bytes(1, 32), { nil: undefined }),
    }),
    msg(PCI_TDISP_ERROR, {
      errorCode: fc.constant(PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR),
      errorData: u32,
      vendorError: fc.option(
        fc.record({ registryId: u8, vendorId: bytes(0, 8), data: bytes(0, 32) }).map(strip),
        { nil: undefined },
      ),
    }),
  ),
};

// ---------------------------------------------------------------- TDISP bytes (independent builder)

/** Body shapes per MessageType, as random bytes of the layout's sizes. */
const tdispBodies: Record<number, fc.Arbitrary<number[]>> = {
  [PCI_TDISP_GET_VERSION]: fc.constant([]),
  [PCI_TDISP_VERSION]: fc.array(u8, { maxLength: 8 }).map((v) => [v.length, ...v]),
  [PCI_TDISP_GET_CAPABILITIES]: fixed(4).map((b) => [...b]),
  [PCI_TDISP_CAPABILITIES]: fixed(4 + 16 + 2 + 3 + 3).map((b) => [...b]),
  [PCI_TDISP_LOCK_INTERFACE_REQ]: fixed(20).map((b) => [...b]),
  [PCI_TDISP_LOCK_INTERFACE_RSP]: fixed(32).map((b) => [...b]),
  [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: fixed(4).map((b) => [...b]),
  [PCI_TDISP_DEVICE_INTERFACE_REPORT]: fc
    .tuple(bytes(0, 100), u16)
    .map(([p, rem]) => [p.length & 0xff, p.length >>> 8, rem & 0xff, rem >>> 8, ...p]),
  [PCI_TDISP_GET_DEVICE_INTERFACE_STATE]: fc.constant([]),
  [PCI_TDISP_DEVICE_INTERFACE_STATE]: fixed(1).map((b) => [...b]),
  [PCI_TDISP_START_INTERFACE_REQ]: fixed(32).map((b) => [...b]),
  [PCI_TDISP_START_INTERFACE_RSP]: fc.constant([]),
  [PCI_TDISP_STOP_INTERFACE_REQ]: fc.constant([]),
  [PCI_TDISP_STOP_INTERFACE_RSP]: fc.constant([]),
  [PCI_TDISP_BIND_P2P_STREAM_REQ]: bytes(1, 2).map((b) => [...b]),
  [PCI_TDISP_BIND_P2P_STREAM_RSP]: fc.constant([]),
  [PCI_TDISP_UNBIND_P2P_STREAM_REQ]: fixed(1).map((b) => [...b]),
  [PCI_TDISP_UNBIND_P2P_STREAM_RSP]: fc.constant([]),
  [PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ]: fixed(16).map((b) => [...b]),
  [PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP]: fc.constant([]),
  [PCI_TDISP_VDM_REQ]: fc
    .tuple(u8, bytes(0, 8), bytes(0, 64))
    .map(([reg, id, p]) => [reg, id.length, ...id, ...p]),
  [PCI_TDISP_VDM_RSP]: fc
    .tuple(u8, bytes(0, 8), bytes(0, 64))
    .map(([reg, id, p]) => [reg, id.length, ...id, ...p]),
  [PCI_TDISP_SET_TDISP_CONFIG_REQ]: fixed(4).map((b) => [...b]),
  [PCI_TDISP_SET_TDISP_CONFIG_RSP]: fc.constant([]),
  [PCI_TDISP_ERROR]: fc.oneof(
    fc
      .tuple(
        u32.filter((c) => c !== 0xff),
        fixed(4),
        bytes(0, 32),
      )
      .map(([code, data, ext]) => [...le32(code), ...data, ...ext]),
    fc
      .tuple(fixed(4), fc.option(fc.tuple(u8, bytes(0, 8), bytes(0, 32))))
      .map(([data, v]) => [
        ...le32(0xff),
        ...data,
        ...(v ? [v[0], v[1].length, ...v[1], ...v[2]] : []),
      ]),
  ),
};

/**
 * MessageTypes with no layout in this file (tdispBodies below, the independent list): the
 * decoder must give them the unknown case.
 */
const unknownTdispCodes = (): number[] =>
  Array.from({ length: 256 }, (_, c) => c).filter((c) => tdispBodies[c] === undefined);

/** The unknown case: any header, a MessageType without a layout, any body. */
export const tdispUnknownArb: fc.Arbitrary<TdispMessage> = fc
  .record({
    ...headerOf(0),
    code: fc.constantFrom(...unknownTdispCodes()),
    kind: fc.constant('unknown' as const),
    body: bytes(0, 64),
  })
  .map((o) => strip(o) as unknown as TdispMessage);

export const tdispMessageArb: fc.Arbitrary<TdispMessage> = fc.oneof(
  ...Object.values(tdispArbs),
  tdispUnknownArb,
);

/** Any 16 header bytes with an unknown MessageType, then any body. */
export const tdispUnknownBytesArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(fixed(16), fc.constantFrom(...unknownTdispCodes()), bytes(0, 64))
  .map(([header, code, body]) => {
    const out = Uint8Array.from([...header, ...body]);
    out[1] = code;
    return out;
  });

/**
 * Valid TDISP encodings of every message type: random header bytes + a body of the right
 * shape, and the unknown case.
 */
export const tdispBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...Object.keys(tdispBodies).map(Number)), fixed(16))
    .chain(([code, header]) =>
      tdispBodies[code].map((body) => {
        const out = Uint8Array.from([...header, ...body]);
        out[1] = code;
        return out;
      }),
    ),
  tdispUnknownBytesArb,
);
