/**
 * Issue 7 class 2, the SPDMVersion of an ERROR (DSP0274 1.3: GET_VERSION / VERSION are 1.0
 * messages; after GET_CAPABILITIES every message, ERROR included, carries the version it
 * fixed; libspdm_generate_error_response). Every refusal path of the responder, before and
 * after negotiation, with the expected ERROR written out as hex; and the requester refusing
 * an ERROR whose version is wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpdmErrorResponse, SpdmVerifyError } from '../../src/spdm/requester/index.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { generatedIdentity, makePair } from './requester-support.ts';
import { type Setup, setup, vca } from './responder-support.ts';

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/ /g, ''), 'hex'));

/** GET_CAPABILITIES 1.2 with default session flags and DTS = Max = 0x1200 (`flags` overrides). */
const getCaps12 = (flags = '42f20000') => bytes(`12e10000 00000000 ${flags} 00120000 00120000`);

interface Row {
  name: string;
  /** Where the connection is when the request arrives. */
  before: (env: Setup) => void;
  request: string;
  /** The whole ERROR. */
  expect: string;
}

const nothing = () => {};
const version = (env: Setup) => {
  env.r.sendRaw(bytes('10840000'));
};
const caps12 = (env: Setup) => vca(env.r, { version: 0x12, stopAfterCapabilities: true });
const vca12 = (env: Setup) => vca(env.r, { version: 0x12 });
const vca13 = (env: Setup) => vca(env.r, { version: 0x13 });

const ROWS: Row[] = [
  // Before any version is known: 1.0.
  {
    name: 'GET_VERSION at 1.1, nothing negotiated',
    before: nothing,
    request: '11840000',
    expect: '107f4100',
  },
  {
    name: 'GET_DIGESTS at 1.3 before GET_VERSION',
    before: nothing,
    request: '13810000',
    expect: '107f0400',
  },
  {
    name: 'GET_CAPABILITIES at 1.2 before GET_VERSION',
    before: nothing,
    request: hex(getCaps12()),
    expect: '107f0400',
  },
  {
    name: 'GET_CAPABILITIES at 1.4 (not spoken)',
    before: version,
    request: '14e10000000000004200000000120000' + '00120000',
    expect: '107f4100',
  },
  {
    name: 'NEGOTIATE_ALGORITHMS at 1.2 after VERSION only',
    before: version,
    request: '12e30000',
    expect: '107f0400',
  },
  // GET_CAPABILITIES refused for its content: the request's version (the case).
  {
    name: 'GET_CAPABILITIES at 1.2, DTS < Max without CHUNK_CAP',
    before: version,
    request: '12e10000 00000000 42f20000 00010000 00120000',
    expect: '127f0100',
  },
  {
    name: 'GET_CAPABILITIES at 1.2, KEY_EX_CAP without ENCRYPT / MAC',
    before: version,
    request: hex(getCaps12('02020000')),
    expect: '127f0100',
  },
  {
    name: 'GET_CAPABILITIES at 1.1, truncated',
    before: version,
    request: '11e10000 0000',
    expect: '117f0100',
  },
  // After GET_CAPABILITIES: the connection's version.
  {
    name: 'GET_DIGESTS at 1.3 on a 1.2 connection',
    before: caps12,
    request: '13810000',
    expect: '127f4100',
  },
  {
    name: 'GET_DIGESTS before ALGORITHMS (1.2)',
    before: caps12,
    request: '12810000',
    expect: '127f0400',
  },
  {
    name: 'GET_CAPABILITIES again (1.2)',
    before: vca12,
    request: hex(getCaps12()),
    expect: '127f0400',
  },
  { name: 'an unknown request code (1.3)', before: vca13, request: '13850000', expect: '137f0785' },
  { name: 'HEARTBEAT in the clear (1.3)', before: vca13, request: '13e80000', expect: '137f0b00' },
  { name: 'CHALLENGE truncated (1.2)', before: vca12, request: '12830000', expect: '127f0100' },
  // GET_VERSION refused: always 1.0, whatever was negotiated.
  {
    name: 'GET_VERSION at 1.3 on a 1.3 connection',
    before: vca13,
    request: '13840000',
    expect: '107f4100',
  },
  {
    name: 'GET_VERSION at 1.2 on a 1.2 connection',
    before: vca12,
    request: '12840000',
    expect: '107f4100',
  },
];

describe('class 2: the version of an ERROR, responder side', () => {
  for (const row of ROWS) {
    it(`${row.name} -> ${row.expect}`, () => {
      const env = setup();
      row.before(env);
      assert.equal(hex(env.r.sendRaw(bytes(row.request))), row.expect);
    });
  }
});

interface ReceivedRow {
  /** The request whose response the wire replaces with `error`. */
  responseCode: number;
  error: string;
  /** 'refused' = SpdmErrorResponse from the peer; 'version' = SpdmVerifyError('version'). */
  outcome: 'refused' | 'version';
}

const RECEIVED: ReceivedRow[] = [
  // GET_CAPABILITIES at 1.3: its own version, or 1.0 for VersionMismatch.
  { responseCode: C.SPDM_CAPABILITIES, error: '137f0100', outcome: 'refused' },
  { responseCode: C.SPDM_CAPABILITIES, error: '107f4100', outcome: 'refused' },
  { responseCode: C.SPDM_CAPABILITIES, error: '107f0100', outcome: 'version' },
  { responseCode: C.SPDM_CAPABILITIES, error: '127f0100', outcome: 'version' },
  // After negotiation (1.3): the negotiated version only.
  { responseCode: C.SPDM_DIGESTS, error: '137f0400', outcome: 'refused' },
  { responseCode: C.SPDM_DIGESTS, error: '107f0400', outcome: 'version' },
  { responseCode: C.SPDM_DIGESTS, error: '127f4100', outcome: 'version' },
  // GET_VERSION: 1.0 only.
  { responseCode: C.SPDM_VERSION, error: '107f0400', outcome: 'refused' },
  { responseCode: C.SPDM_VERSION, error: '137f0400', outcome: 'version' },
];

describe('class 2: the version of an ERROR, requester side', () => {
  for (const row of RECEIVED) {
    it(`${C.spdmCodeName(row.responseCode)} replaced by ERROR ${row.error}: ${row.outcome}`, async () => {
      const { requester } = makePair({
        identity: await generatedIdentity(),
        requester: { versions: [0x13] },
        tamper: {
          response(m) {
            if (m.secured || m.bytes[1] !== row.responseCode) return undefined;
            return { secured: false, bytes: bytes(row.error) };
          },
        },
      });
      const flow = async () => {
        await requester.connect();
        await requester.getDigests();
      };
      await assert.rejects(flow(), (e: unknown) => {
        if (row.outcome === 'refused') {
          assert.ok(e instanceof SpdmErrorResponse, String(e));
          assert.equal(e.errorCode, Number.parseInt(row.error.slice(4, 6), 16));
        } else {
          assert.ok(e instanceof SpdmVerifyError, String(e));
          assert.equal(e.what, 'version');
          assert.match(e.detail, /^ERROR .* carries SPDMVersion 0x1[0-3], expected 0x1[0-3]$/);
        }
        return true;
      });
    });
  }
});
