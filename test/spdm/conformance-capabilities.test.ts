/**
 * Issue 7 class 3, GET_CAPABILITIES consistency (DSP0274 1.3 section 10.4 flag tables and
 * DataTransferSize / MaxSPDMmsgSize): the responder answers a requester's inconsistent
 * flags or sizes with ERROR InvalidRequest at the request's version, and the requester
 * refuses a responder's inconsistent CAPABILITIES. Requests are built by hand here and
 * the expected answers are written out as hex.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESPONDER_CAPABILITIES } from '../../src/spdm/config.ts';
import { SpdmVerifyError } from '../../src/spdm/requester/index.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { generatedIdentity, makePair } from './requester-support.ts';
import { setup } from './responder-support.ts';

const F = C.SPDM_CAP;
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

/** GET_CAPABILITIES as DSP0274 lays it out (1.0: header; 1.1: + CTExponent, Flags; 1.2: + sizes). */
function getCapabilities(version: number, flags: number, dts = 0x1200, max = 0x1200): Uint8Array {
  const b = Buffer.alloc(version >= 0x12 ? 20 : version === 0x11 ? 12 : 4);
  b.set([version, 0xe1, 0, 0]);
  if (version >= 0x11) b.writeUInt32LE(flags >>> 0, 8);
  if (version >= 0x12) {
    b.writeUInt32LE(dts, 12);
    b.writeUInt32LE(max, 16);
  }
  return new Uint8Array(b);
}

/** KEY_EX + its companions, what a session-capable requester sets at least. */
const SESSION = F.CERT_CAP | F.CHAL_CAP | F.KEY_EX_CAP | F.ENCRYPT_CAP | F.MAC_CAP;
/** spdm-emu's default requester flags (spdm_emu_common/key.c m_use_requester_capability_flags). */
const SPDM_EMU_REQUESTER =
  SESSION |
  F.MUT_AUTH_CAP |
  F.PSK_CAP_RESPONDER |
  F.ENCAP_CAP |
  F.HBEAT_CAP |
  F.KEY_UPD_CAP |
  F.HANDSHAKE_IN_THE_CLEAR_CAP |
  F.CHUNK_CAP |
  F.MULTI_KEY_CAP_NEG |
  F.EP_INFO_CAP_SIG |
  F.LARGE_RESP_CAP;

interface RequestRow {
  name: string;
  version: number;
  flags: number;
  dts?: number;
  max?: number;
  /** The response's first four bytes. */
  expect: string;
}

const REQUESTS: RequestRow[] = [
  // DataTransferSize / MaxSPDMmsgSize (1.2+).
  {
    name: 'DTS < Max without CHUNK_CAP (1.2)',
    version: 0x12,
    flags: SESSION,
    dts: 0x100,
    expect: '127f0100',
  },
  {
    name: 'DTS < Max without CHUNK_CAP (1.3)',
    version: 0x13,
    flags: SESSION,
    dts: 0x100,
    expect: '137f0100',
  },
  {
    name: 'DTS < Max with CHUNK_CAP',
    version: 0x12,
    flags: SESSION | F.CHUNK_CAP,
    dts: 0x100,
    expect: '12610000',
  },
  {
    name: 'DTS 41 (below MinDataTransferSize)',
    version: 0x12,
    flags: SESSION,
    dts: 41,
    max: 41,
    expect: '127f0100',
  },
  { name: 'DTS 42 = Max', version: 0x12, flags: SESSION, dts: 42, max: 42, expect: '12610000' },
  {
    name: 'DTS above Max',
    version: 0x13,
    flags: SESSION | F.CHUNK_CAP,
    dts: 0x1300,
    expect: '137f0100',
  },
  // Flag rules.
  {
    name: "spdm-emu's default requester flags",
    version: 0x13,
    flags: SPDM_EMU_REQUESTER,
    expect: '13610000',
  },
  {
    name: 'MUT_AUTH_CAP without ENCAP_CAP (1.1)',
    version: 0x11,
    flags: SESSION | F.MUT_AUTH_CAP,
    expect: '117f0100',
  },
  {
    name: 'MUT_AUTH_CAP without ENCAP_CAP (1.2: allowed)',
    version: 0x12,
    flags: SESSION | F.MUT_AUTH_CAP,
    expect: '12610000',
  },
  {
    name: 'KEY_EX_CAP without ENCRYPT_CAP / MAC_CAP',
    version: 0x11,
    flags: F.CERT_CAP | F.KEY_EX_CAP,
    expect: '117f0100',
  },
  {
    name: 'PSK_CAP without ENCRYPT_CAP / MAC_CAP',
    version: 0x12,
    flags: F.PSK_CAP_RESPONDER,
    expect: '127f0100',
  },
  {
    name: 'MAC_CAP without KEY_EX_CAP / PSK_CAP',
    version: 0x13,
    flags: F.MAC_CAP,
    expect: '137f0100',
  },
  {
    name: 'HBEAT_CAP without KEY_EX_CAP / PSK_CAP',
    version: 0x12,
    flags: F.CERT_CAP | F.CHAL_CAP | F.HBEAT_CAP,
    expect: '127f0100',
  },
  {
    name: 'HANDSHAKE_IN_THE_CLEAR_CAP with PSK_CAP only',
    version: 0x12,
    flags: F.PSK_CAP_RESPONDER | F.MAC_CAP | F.HANDSHAKE_IN_THE_CLEAR_CAP,
    expect: '127f0100',
  },
  {
    name: 'PSK_CAP 10b (reserved for a requester)',
    version: 0x12,
    flags: F.PSK_CAP_RESPONDER_WITH_CONTEXT | F.MAC_CAP,
    expect: '127f0100',
  },
  {
    name: 'CERT_CAP with PUB_KEY_ID_CAP',
    version: 0x12,
    flags: SESSION | F.PUB_KEY_ID_CAP,
    expect: '127f0100',
  },
  {
    name: 'CHAL_CAP without CERT_CAP / PUB_KEY_ID_CAP',
    version: 0x11,
    flags: F.CHAL_CAP,
    expect: '117f0100',
  },
  {
    name: 'CERT_CAP with nothing that uses the key',
    version: 0x12,
    flags: F.CERT_CAP,
    expect: '127f0100',
  },
  {
    name: 'MULTI_KEY_CAP 11b (reserved)',
    version: 0x13,
    flags: SESSION | F.MULTI_KEY_CAP_ONLY | F.MULTI_KEY_CAP_NEG,
    expect: '137f0100',
  },
  {
    name: 'EVENT_CAP without KEY_EX_CAP / PSK_CAP (1.3)',
    version: 0x13,
    flags: F.CERT_CAP | F.CHAL_CAP | F.EVENT_CAP,
    expect: '137f0100',
  },
  // 1.0 carries no flags: nothing to refuse.
  { name: '1.0 (no flags)', version: 0x10, flags: 0, expect: '10610000' },
];

describe('class 3: GET_CAPABILITIES consistency, responder side', () => {
  for (const row of REQUESTS) {
    it(`${row.name} -> ${row.expect}`, () => {
      const { r, responder } = setup();
      assert.equal(hex(r.sendRaw(Uint8Array.of(0x10, 0x84, 0, 0))).slice(0, 4), '1004');
      const rsp = r.sendRaw(getCapabilities(row.version, row.flags, row.dts, row.max));
      assert.equal(hex(rsp).slice(0, 8), row.expect);
      const refused = row.expect.slice(2, 4) === '7f';
      if (refused) assert.equal(rsp!.length, 4, 'an ERROR without extended data');
      // A refusal changes nothing: still right after VERSION.
      assert.equal(responder.state.state, refused ? 'AFTER_VERSION' : 'AFTER_CAPABILITIES');
    });
  }
});

interface ResponseRow {
  name: string;
  flags: number;
  dts?: number;
  max?: number;
  /** SpdmVerifyError detail, or undefined when the CAPABILITIES must be accepted. */
  problem?: RegExp;
}

const RESPONSES: ResponseRow[] = [
  { name: 'the default responder flags', flags: DEFAULT_RESPONDER_CAPABILITIES },
  {
    name: 'MEAS_CAP 11b',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.MEAS_CAP_NO_SIG,
    problem: /MEAS_CAP is the reserved/,
  },
  {
    name: 'MEAS_FRESH_CAP without MEAS_CAP',
    flags: (DEFAULT_RESPONDER_CAPABILITIES & ~F.MEAS_CAP_SIG) | F.MEAS_FRESH_CAP,
    problem: /MEAS_FRESH_CAP without MEAS_CAP/,
  },
  {
    name: 'PSK_CAP 11b',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.PSK_CAP_RESPONDER | F.PSK_CAP_RESPONDER_WITH_CONTEXT,
    problem: /PSK_CAP is the reserved/,
  },
  {
    name: 'KEY_EX_CAP without ENCRYPT_CAP / MAC_CAP',
    flags: DEFAULT_RESPONDER_CAPABILITIES & ~(F.ENCRYPT_CAP | F.MAC_CAP),
    problem: /without ENCRYPT_CAP or MAC_CAP/,
  },
  {
    name: 'CERT_CAP with PUB_KEY_ID_CAP',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.PUB_KEY_ID_CAP,
    problem: /exclusive/,
  },
  {
    name: 'CSR_CAP without SET_CERT_CAP',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.CSR_CAP,
    problem: /CSR_CAP without SET_CERT_CAP/,
  },
  {
    name: 'MULTI_KEY_CAP without GET_KEY_PAIR_INFO_CAP',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.MULTI_KEY_CAP_NEG,
    problem: /GET_KEY_PAIR_INFO_CAP/,
  },
  {
    name: 'DTS < Max without CHUNK_CAP',
    flags: DEFAULT_RESPONDER_CAPABILITIES,
    dts: 0x100,
    problem: /without CHUNK_CAP/,
  },
  {
    name: 'DTS < Max with CHUNK_CAP',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.CHUNK_CAP,
    dts: 0x100,
  },
  { name: 'DTS 41', flags: DEFAULT_RESPONDER_CAPABILITIES, dts: 41, max: 41, problem: /below 42/ },
  {
    name: 'DTS above Max',
    flags: DEFAULT_RESPONDER_CAPABILITIES | F.CHUNK_CAP,
    dts: 0x2000,
    problem: /above MaxSPDMmsgSize/,
  },
];

describe('class 3: CAPABILITIES consistency, requester side', () => {
  for (const row of RESPONSES) {
    it(`${row.name}: ${row.problem ? 'refused' : 'accepted'}`, async () => {
      const identity = await generatedIdentity();
      // The responder answers honestly; the wire rewrites Flags and the sizes (SPDM 1.3).
      const { requester } = makePair({
        identity,
        tamper: {
          response(m) {
            if (m.secured || m.bytes[1] !== C.SPDM_CAPABILITIES) return undefined;
            const b = Buffer.from(m.bytes);
            b.writeUInt32LE(row.flags >>> 0, 8);
            b.writeUInt32LE(row.dts ?? 0x1200, 12);
            b.writeUInt32LE(row.max ?? 0x1200, 16);
            return { ...m, bytes: new Uint8Array(b) };
          },
        },
      });
      await requester.getVersion();
      const got = requester.getCapabilities();
      if (!row.problem) {
        assert.equal((await got).flags, row.flags >>> 0);
        return;
      }
      await assert.rejects(got, (e: unknown) => {
        assert.ok(e instanceof SpdmVerifyError, String(e));
        assert.equal(e.what, 'capabilities');
        assert.match(e.detail, row.problem!);
        return true;
      });
      assert.equal(requester.state, 'AFTER_VERSION');
    });
  }
});
