/**
 * CXL TSP codecs (CXL 3.x 11.5): each message family against hex written out field by field
 * from the spec's message tables (libspdm's cxl_tsp.h structures have the same layout),
 * reserved runs and unknown opcodes round-tripping, and typed errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CXL_TSP_CAPABILITIES_RSP_SIZE,
  CXL_TSP_GET_CONFIGURATION_RSP_SIZE,
  CXL_TSP_SET_CONFIGURATION_SIZE,
  type CxlTspIbGranularityEntry,
  type CxlTspMessage,
  decodeCxlTsp,
  encodeCxlTsp,
} from '../../../src/wire/cxl-tsp/index.ts';
import { fromHex, toHex } from '../../../src/wire/hex.ts';
import { checkRobust } from '../../support/robust.ts';
import { wireErrorExpecter } from '../expect-wire-error.ts';

const expectWireError = wireErrorExpecter('CXL_TSP');
const z = (n: number) => '00'.repeat(n);

/** Entry 0: granularity 0, LengthIndex 0; entries 1..7 unused (LengthIndex 0xFF). */
const ENTRIES_HEX = `${z(8)}00${z(7)}${`${z(8)}ff${z(7)}`.repeat(7)}`;
const ENTRIES: CxlTspIbGranularityEntry[] = [
  { teStateGranularity: 0n, lengthIndex: 0 },
  ...Array.from({ length: 7 }, () => ({ teStateGranularity: 0n, lengthIndex: 0xff })),
];
/** MemoryEncryptionFeaturesEnable 1 | AlgorithmSelect AES-XTS-256 | TE features 0x16 | ConfigurationFeaturesEnable 1. */
const CONFIG_HEAD_HEX = `0100${'02000000'}${z(4)}1600${z(2)}${z(4)}${z(4)}0100${z(2)}${z(4)}${z(4)}`;
const CONFIG = {
  memoryEncryptionFeaturesEnable: 1,
  memoryEncryptionAlgorithmSelect: 2,
  teStateChangeAndAccessControlFeaturesEnable: 0x16,
  explicitOobTeStateGranularity: 0,
  configurationFeaturesEnable: 1,
  ckidBase: 0,
  numberOfCkids: 0,
  explicitIbTeStateGranularity: ENTRIES,
};

const CASES: { name: string; hex: string; m: CxlTspMessage }[] = [
  { name: 'GET_TARGET_TSP_VERSION', hex: '10810000', m: { version: 0x10, opCode: 0x81 } },
  {
    // Reserved u16 | VersionNumberEntryCount 1 | 0x10.
    name: 'GET_TARGET_TSP_VERSION_RSP',
    hex: '100100000110',
    m: { version: 0x10, opCode: 0x01, versions: [0x10] },
  },
  { name: 'GET_TARGET_CAPABILITIES', hex: '10820000', m: { version: 0x10, opCode: 0x82 } },
  {
    name: 'GET_TARGET_CAPABILITIES_RSP',
    // features 0x0001 | algorithms 0x00000002 | range keys 0 | rsvd | TE features 0x0016 |
    // rsvd | OOB granularity 0 | IB granularity 0x00000001 | configuration 0x0001 | rsvd |
    // CKIDs 0 | secondary sessions 0 | 0x13 reserved.
    hex: `10020100020000000000${z(2)}1600${z(2)}${z(4)}010000000100${z(2)}${z(4)}00${z(0x13)}`,
    m: {
      version: 0x10,
      opCode: 0x02,
      memoryEncryptionFeaturesSupported: 1,
      memoryEncryptionAlgorithmsSupported: 2,
      memoryEncryptionNumberOfRangeBasedKeys: 0,
      teStateChangeAndAccessControlFeaturesSupported: 0x16,
      supportedExplicitOobTeStateGranularity: 0,
      supportedExplicitIbTeStateGranularity: 1,
      configurationFeaturesSupported: 1,
      numberOfCkids: 0,
      numberOfSecondarySessions: 0,
    },
  },
  {
    // The configuration spdm-emu's requester sets on its first session.
    name: 'SET_TARGET_CONFIGURATION',
    hex: `1083${CONFIG_HEAD_HEX}${z(12)}${ENTRIES_HEX}${z(16)}0000${z(14)}00${z(15)}${z(128)}`,
    m: {
      version: 0x10,
      opCode: 0x83,
      ...CONFIG,
      configurationValidityFlags: 0,
      secondarySessionCkidType: 0,
      secondarySessionPskKeyMaterial: [0, 1, 2, 3].map(() => new Uint8Array(32)),
    },
  },
  { name: 'SET_TARGET_CONFIGURATION_RSP', hex: '10030000', m: { version: 0x10, opCode: 0x03 } },
  { name: 'GET_TARGET_CONFIGURATION', hex: '10840000', m: { version: 0x10, opCode: 0x84 } },
  {
    // ... | CurrentTSPState 1 (CONFIG_LOCKED) | 11 reserved | entries | 16 reserved.
    name: 'GET_TARGET_CONFIGURATION_RSP',
    hex: `1004${CONFIG_HEAD_HEX}01${z(11)}${ENTRIES_HEX}${z(16)}`,
    m: { version: 0x10, opCode: 0x04, ...CONFIG, currentTspState: 1 },
  },
  {
    // Reserved u16 | Offset 0 | Length 0x200.
    name: 'GET_TARGET_CONFIGURATION_REPORT',
    hex: '1085000000000002',
    m: { version: 0x10, opCode: 0x85, offset: 0, length: 0x200 },
  },
  {
    // Reserved u16 | PortionLength 3 | RemainderLength 0x10 | 3 bytes.
    name: 'GET_TARGET_CONFIGURATION_REPORT_RSP',
    hex: '100500000300' + '1000' + '010203',
    m: { version: 0x10, opCode: 0x05, remainderLength: 0x10, portion: fromHex('010203') },
  },
  { name: 'LOCK_TARGET_CONFIGURATION', hex: '10860000', m: { version: 0x10, opCode: 0x86 } },
  { name: 'LOCK_TARGET_CONFIGURATION_RSP', hex: '10060000', m: { version: 0x10, opCode: 0x06 } },
  {
    // TEState 1 | one range | 12 reserved | StartingAddress 0x100000 | Length 0x10000.
    name: 'SET_TARGET_TE_STATE',
    hex: `108d0101${z(12)}0000100000000000${'0000010000000000'}`,
    m: {
      version: 0x10,
      opCode: 0x8d,
      teState: 1,
      memoryRanges: [{ startingAddress: 0x100000n, length: 0x10000n }],
    },
  },
  { name: 'SET_TARGET_TE_STATE_RSP', hex: '100d0000', m: { version: 0x10, opCode: 0x0d } },
  {
    // Reserved u16 | ErrorCode 4 (UNSUPPORTED_REQUEST) | ErrorData 0.
    name: 'ERROR_RSP',
    hex: `107f0000${'04000000'}${z(4)}`,
    m: { version: 0x10, opCode: 0x7f, errorCode: 4, errorData: 0 },
  },
  {
    name: 'CLEAR_TARGET_CKID_KEY (no codec: unknown)',
    hex: '1089000005000000',
    m: { kind: 'unknown', version: 0x10, opCode: 0x89, body: fromHex('000005000000') },
  },
  {
    name: 'reserved u16 kept',
    hex: '10861234',
    m: { version: 0x10, opCode: 0x86, reserved: 0x3412 },
  },
];

describe('CXL TSP messages (CXL 3.x 11.5)', () => {
  for (const { name, hex, m } of CASES) {
    test(`${name}`, () => {
      assert.deepEqual(decodeCxlTsp(fromHex(hex)), m);
      assert.equal(toHex(encodeCxlTsp(m)), hex);
    });
  }

  test('fixed sizes: capabilities 52, SET configuration 352, GET configuration response 192', () => {
    assert.deepEqual(
      [
        CXL_TSP_CAPABILITIES_RSP_SIZE,
        CXL_TSP_SET_CONFIGURATION_SIZE,
        CXL_TSP_GET_CONFIGURATION_RSP_SIZE,
      ],
      [52, 352, 192],
    );
    const size: Record<number, number> = { 2: 52, 131: 352, 4: 192 };
    for (const c of CASES.filter((x) => x.m.opCode in size)) {
      assert.equal(fromHex(c.hex).length, size[c.m.opCode]);
    }
  });

  test('malformed messages are typed errors naming the field', () => {
    expectWireError(() => decodeCxlTsp(fromHex('10')), 'truncated', 'Opcode');
    expectWireError(() => decodeCxlTsp(fromHex('108100')), 'truncated', 'Reserved');
    expectWireError(() => decodeCxlTsp(fromHex('1081000000')), 'trailing');
    expectWireError(
      () => decodeCxlTsp(fromHex(`108d0102${z(12)}${z(16)}`)),
      'truncated',
      'StartingAddress',
    );
    expectWireError(() => decodeCxlTsp(fromHex('1001000002')), 'truncated', 'VersionNumberEntry');
    expectWireError(() => decodeCxlTsp(fromHex('1005000004000000aa')), 'truncated', 'ReportData');
  });

  test('reserved runs of the big layouts round-trip', () => {
    const b = fromHex(CASES[3].hex);
    b[b.length - 1] = 0x5a; // last reserved byte of GET_TARGET_CAPABILITIES_RSP
    assert.deepEqual(encodeCxlTsp(decodeCxlTsp(b)), b);
  });

  test('property: any message of a known fixed layout, or an unknown opcode, round-trips', () => {
    const sizes: Record<number, number> = {
      129: 4,
      130: 4,
      2: 52,
      131: 352,
      4: 192,
      133: 8,
      127: 12,
    };
    const arb = fc.oneof(
      fc
        .constantFrom(...Object.entries(sizes))
        .chain(([op, n]) =>
          fc
            .uint8Array({ minLength: n - 2, maxLength: n - 2 })
            .map((b) => Uint8Array.of(0x10, Number(op), ...b)),
        ),
      fc
        .constantFrom(0x87, 0x88, 0x8a, 0x8e, 0x7e)
        .chain((op) => fc.uint8Array({ maxLength: 30 }).map((b) => Uint8Array.of(0x10, op, ...b))),
    );
    fc.assert(fc.property(arb, (b) => assert.deepEqual(encodeCxlTsp(decodeCxlTsp(b)), b)));
    // Hostile inputs derived from valid ones (counts, lengths): a WireError or a message.
    const withCounts = fc.oneof(arb, fc.constantFrom(...CASES.map((c) => fromHex(c.hex))));
    checkRobust('CXL_TSP', withCounts, (b) => decodeCxlTsp(b));
  });
});
