/**
 * The DSM's CXL TSP target (CXL 3.x 11.5): spdm-emu's primary-session flow with every
 * response byte written out, the configuration report, the CONFIG_UNLOCKED -> CONFIG_LOCKED
 * transition and the TE ranges it gates, and each refusal as an ERROR_RSP with the spec's
 * error code, leaving the state as it was.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { CxlIdeCapability } from '../../../src/device/dsm/cxl-ide-km/keys.ts';
import { DEFAULT_CXL_TSP_CAPABILITY } from '../../../src/device/dsm/cxl-tsp/target.ts';
import type { DsmEvent } from '../../../src/device/dsm/events.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { spdmEmu } from '../../../src/device/profiles/spdm-emu.ts';
import { VendorRegistry } from '../../../src/spdm/vendor.ts';
import { fromHex, toHex } from '../../../src/wire/hex.ts';
import { ctx, makeWorld, SESSION_A } from './harness.ts';

const z = (n: number) => '00'.repeat(n);
const CXL_IDE: CxlIdeCapability = {
  maxPortIndex: 0,
  ivGeneration: true,
  keyGeneration: true,
  kSetStop: true,
  containment: true,
};
const ENTRIES_HEX = `${z(8)}00${z(7)}${`${z(8)}ff${z(7)}`.repeat(7)}`;
const UNUSED_ENTRIES_HEX = `${z(8)}ff${z(7)}`.repeat(8);
const CONFIG_HEAD_HEX = `0100${'02000000'}${z(4)}1600${z(2)}${z(4)}${z(4)}0100${z(2)}${z(4)}${z(4)}`;
/** spdm-emu's cxl_tsp_process_session_message (primary session), request by request. */
const SET_CONFIGURATION = `1083${CONFIG_HEAD_HEX}${z(12)}${ENTRIES_HEX}${z(16)}0000${z(14)}00${z(15)}${z(128)}`;

function world() {
  const events: DsmEvent[] = [];
  const w = makeWorld(
    spdmEmu,
    { cxlIde: CXL_IDE, cxlTsp: { ...DEFAULT_CXL_TSP_CAPABILITY } },
    { bus: 0xbe },
  );
  w.dsm.onEvent((e) => events.push(e));
  const send = (hex: string, session: number | null = SESSION_A) => {
    const r = w.dsm.cxlTspHandler(ctx(session ?? undefined), fromHex(hex));
    assert.equal(r.kind, 'response', JSON.stringify(r));
    return r.kind === 'response' ? toHex(r.message) : '';
  };
  return { w, events, send };
}

/** ERROR_RSP: TSPVersion 1.0 | 0x7F | reserved | ErrorCode u32 | ErrorData 0. */
const errorRsp = (code: number) => `107f0000${code.toString(16).padStart(2, '0')}000000${z(4)}`;
const TE_RANGE = `0000100000000000${'0000010000000000'}`;

describe('CXL TSP target: the spdm-emu primary-session flow', () => {
  test('version, capabilities, configuration, report, lock, TE state on and off', () => {
    const { w, events, send } = world();
    assert.equal(send('10810000'), '100100000110');
    assert.equal(
      send('10820000'),
      `10020100020000000000${z(2)}1600${z(2)}${z(4)}010000000100${z(2)}${z(4)}00${z(0x13)}`,
    );
    assert.equal(send(SET_CONFIGURATION), '10030000');
    assert.equal(send('10840000'), `1004${CONFIG_HEAD_HEX}00${z(11)}${ENTRIES_HEX}${z(16)}`);
    // Report: 220 bytes in one portion; ValidTSPReportFields 1; the CXL IDE Capability
    // Structure last (capability 0x00400007, status 0x44 Insecure/Insecure, rest 0).
    const report = send('1085000000000002');
    assert.equal(report.slice(0, 16), '10050000dc000000');
    const data = report.slice(16);
    assert.equal(data.length, 220 * 2);
    assert.equal(data.slice(0, 8), '01000000');
    assert.equal(data.slice(-72), `07004000${z(4)}44000000${z(4 * 6)}`);
    assert.equal(data.slice(8, -72), z(220 - 4 - 36));
    assert.equal(send('10860000'), '10060000');
    assert.equal(send('10840000'), `1004${CONFIG_HEAD_HEX}01${z(11)}${ENTRIES_HEX}${z(16)}`);
    assert.equal(send(`108d0101${z(12)}${TE_RANGE}`), '100d0000');
    assert.deepEqual(w.dsm.state.cxlTsp.teRanges, [
      { startingAddress: 0x100000n, length: 0x10000n },
    ]);
    assert.equal(send(`108d0001${z(12)}${TE_RANGE}`), '100d0000');
    assert.deepEqual(w.dsm.state.cxlTsp.teRanges, []);
    assert.deepEqual(
      events.filter((e) => e.kind === 'CXL_TSP_STATE'),
      [
        {
          kind: 'CXL_TSP_STATE',
          from: 'CONFIG_UNLOCKED',
          to: 'CONFIG_LOCKED',
          cause: 'LOCK_TARGET_CONFIGURATION',
        },
      ],
    );
  });

  test('the report in portions: Offset / Length, RemainderLength counting down', () => {
    const { send } = world();
    // Offset 0, Length 0x80: 0x80 bytes, 0x5c remain.
    assert.equal(send('1085000000008000').slice(0, 16), '1005000080005c00');
    // Offset 0x80, Length 0x5c: the rest, nothing remains.
    assert.equal(send('1085000080005c00').slice(0, 16), '100500005c000000');
    // Offset past the end, or Length 0: INVALID_REQUEST.
    assert.equal(send('108500000001' + '1000'), errorRsp(0x01));
    assert.equal(send('1085000000000000'), errorRsp(0x01));
  });

  test('before any SET_TARGET_CONFIGURATION the configuration reads as zero, entries unused', () => {
    const { send } = world();
    assert.equal(send('10840000'), `1004${z(34)}00${z(11)}${UNUSED_ENTRIES_HEX}${z(16)}`);
  });
});

describe('CXL TSP target: refusals are ERROR_RSP, state unchanged', () => {
  const CASES: { name: string; setup?: string[]; hex: string; session?: null; code: number }[] = [
    { name: 'outside a secured session: NO_PRIVILEGE', hex: '10810000', session: null, code: 0x07 },
    { name: 'TSPVersion 1.1: VERSION_MISMATCH', hex: '11810000', code: 0x05 },
    { name: 'SET_TARGET_CKID_SPECIFIC_KEY: UNSUPPORTED_REQUEST', hex: `1087${z(86)}`, code: 0x04 },
    { name: 'an undefined opcode: UNSUPPORTED_REQUEST', hex: '10f00000', code: 0x04 },
    { name: 'GET_TARGET_CAPABILITIES one byte short: INVALID_REQUEST', hex: '108200', code: 0x01 },
    { name: 'a lone byte: INVALID_REQUEST', hex: '10', code: 0x01 },
    {
      name: 'AES-XTS-128, which the target lacks: INVALID_SECURITY_CONFIGURATION',
      hex: SET_CONFIGURATION.replace(/^10830100020000/, '10830100010000'),
      code: 0x0a,
    },
    {
      name: 'secondary-session PSKs the target does not take: INVALID_SECURITY_CONFIGURATION',
      // ConfigurationValidityFlags (bytes 192-193) = 1.
      hex: `${SET_CONFIGURATION.slice(0, 2 * 192)}0100${SET_CONFIGURATION.slice(2 * 194)}`,
      code: 0x0a,
    },
    {
      name: 'SET_TARGET_TE_STATE while unlocked: INVALID_SECURITY_STATE',
      hex: `108d0101${z(12)}${TE_RANGE}`,
      code: 0x0b,
    },
    { name: 'LOCK twice: ALREADY_LOCKED', setup: ['10860000'], hex: '10860000', code: 0x0d },
    {
      name: 'SET_TARGET_CONFIGURATION once locked: ALREADY_LOCKED',
      setup: ['10860000'],
      hex: SET_CONFIGURATION,
      code: 0x0d,
    },
    {
      name: 'TEState 2: INVALID_REQUEST',
      setup: ['10860000'],
      hex: `108d0201${z(12)}${TE_RANGE}`,
      code: 0x01,
    },
  ];
  for (const c of CASES) {
    test(c.name, () => {
      const { w, send, events } = world();
      for (const s of c.setup ?? []) send(s);
      const before = structuredClone(w.dsm.state);
      assert.equal(send(c.hex, c.session), errorRsp(c.code));
      assert.deepEqual(w.dsm.state, before);
      const last = events.at(-1);
      assert.equal(last?.kind, 'CXL_TSP_REQUEST');
    });
  }

  test('a malformed request keeps where it broke in the trace', () => {
    const { send, events } = world();
    send('108200');
    const e = events.at(-1);
    assert.deepEqual(e?.kind === 'CXL_TSP_REQUEST' && e.malformed, {
      field: 'Reserved',
      offset: 2,
      kind: 'truncated',
    });
  });

  test('registration: CXL ProtocolID 1 only for a device with a TSP target', () => {
    const key = { standardId: 3, vendorId: Uint8Array.of(0x98, 0x1e), protocolId: 1 };
    const reg = new VendorRegistry();
    world().w.dsm.registerVendorHandlers(reg);
    assert.ok(reg.lookup(key));
    const none = new VendorRegistry();
    makeWorld(nic).dsm.registerVendorHandlers(none);
    assert.equal(none.lookup(key), undefined);
  });
});

describe('CXL TSP responder robustness', () => {
  test('property: any bytes get a TSP response or ERROR_RSP, never a throw or an internal error', () => {
    const { w, events } = world();
    const valid = [
      '10810000',
      '10820000',
      SET_CONFIGURATION,
      '10840000',
      '1085000000000002',
      '10860000',
      `108d0101${z(12)}${TE_RANGE}`,
    ].map(fromHex);
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc
        .tuple(fc.constantFrom(...valid), fc.nat(400), fc.integer({ min: 0, max: 255 }))
        .map(([b, i, v]) => {
          const out = b.slice();
          out[i % out.length] = v;
          return out;
        }),
    );
    fc.assert(
      fc.property(arb, (b) => {
        const r = w.dsm.cxlTspHandler(ctx(SESSION_A), b);
        assert.equal(r.kind, 'response');
      }),
    );
    assert.equal(events.filter((e) => e.kind === 'INTERNAL_ERROR').length, 0);
  });
});
