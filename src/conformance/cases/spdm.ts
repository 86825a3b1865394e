/**
 * SPDM cases (DSP0274 1.0-1.3, DSP0277 sessions): version negotiation, capabilities and
 * algorithms with invalid requester combinations, digests and certificate portions,
 * CHALLENGE_AUTH, measurements, KEY_EXCHANGE / FINISH and what a session allows, requests
 * out of order, and truncated requests. Requests a case needs malformed are built by hand
 * (messages.ts); well-formed flows go through teeio's requester, which checks every
 * response field and signature.
 */
import { randomBytes } from 'node:crypto';
import { capabilityFlagsProblem, transferSizeProblem } from '../../spdm/capability-rules.ts';
import { DEFAULT_REQUESTER_CAPABILITIES } from '../../spdm/config.ts';
import { bytesEqual } from '../../wire/hex.ts';
import {
  SPDM_CAP,
  SPDM_CHALLENGE,
  SPDM_END_SESSION,
  SPDM_ERROR_CODE,
  SPDM_FINISH,
  SPDM_GET_CAPABILITIES,
  SPDM_GET_CERTIFICATE,
  SPDM_GET_DIGESTS,
  SPDM_GET_MEASUREMENTS,
  SPDM_GET_VERSION,
  SPDM_HEARTBEAT,
  SPDM_KEY_EXCHANGE,
  SPDM_NEGOTIATE_ALGORITHMS,
  spdmErrorName,
} from '../../wire/spdm/constants.ts';
import { CaseFailure, type ConformanceCase, check, requires } from '../case.ts';
import type { CaseContext, Conn } from '../context.ts';
import { Bytes, describeSpdmResponse, spdm, spdmErrorCode, u16At } from '../messages.ts';

export const DSP0274 = 'DSP0274 1.3';
export const E = SPDM_ERROR_CODE;

/** Fails unless `rsp` is ERROR with one of `codes`. */
export function expectError(rsp: Uint8Array, codes: number[], what: string): void {
  const got = spdmErrorCode(rsp);
  const want = codes.map((c) => spdmErrorName(c)).join(' or ');
  check(
    got !== undefined && codes.includes(got),
    `ERROR ${want} ${what}`,
    describeSpdmResponse(rsp),
    rsp,
  );
}

export function expectCode(rsp: Uint8Array, code: number, name: string): void {
  check(rsp.length >= 4 && rsp[1] === code, name, describeSpdmResponse(rsp), rsp);
}

/** The versions a VERSION response lists, as SPDMVersion bytes. */
function versionsOf(rsp: Uint8Array): number[] {
  const n = rsp[5] ?? 0;
  const out: number[] = [];
  for (let i = 0; i < n && 6 + 2 * i + 2 <= rsp.length; i++) out.push(u16At(rsp, 6 + 2 * i) >>> 8);
  return out;
}

/** GET_VERSION by hand; returns the version both speak (the highest common). */
async function getVersion(c: Conn): Promise<number> {
  const rsp = await c.plain(spdm(0x10, SPDM_GET_VERSION));
  expectCode(rsp, 0x04, 'VERSION');
  const mine = c.requester.config.versions;
  const common = versionsOf(rsp).filter((v) => mine.includes(v));
  if (common.length === 0)
    throw new CaseFailure(
      'a version in common',
      `VERSION lists ${versionsOf(rsp).map((v) => v.toString(16))}`,
      rsp,
    );
  return Math.max(...common);
}

/** GET_CAPABILITIES (1.2+ layout when version >= 0x12). */
function capsRequest(version: number, flags: number, dts = 0x1200, max = 0x1200): Uint8Array {
  if (version < 0x11) return spdm(version, SPDM_GET_CAPABILITIES);
  const b = new Bytes().u8(0).u8(0).u16(0).u32(flags);
  if (version >= 0x12) b.u32(dts).u32(max);
  return spdm(version, SPDM_GET_CAPABILITIES, 0, 0, b.finish());
}

/** GET_VERSION + GET_CAPABILITIES by hand; returns the version. */
async function versionAndCaps(c: Conn): Promise<number> {
  const v = await getVersion(c);
  const rsp = await c.plain(capsRequest(v, DEFAULT_REQUESTER_CAPABILITIES));
  expectCode(rsp, 0x61, 'CAPABILITIES (setup)');
  return v;
}

/** One AlgStruct table of NEGOTIATE_ALGORITHMS: AlgType, AlgCount byte, AlgSupported. */
interface AlgTable {
  type: number;
  count?: number;
  bits: number;
}

/** DHE secp256r1 | secp384r1, AEAD AES-128/256-GCM, no ReqBaseAsym, KeySchedule SPDM. */
const GOOD_TABLES: AlgTable[] = [
  { type: 2, bits: 0x18 },
  { type: 3, bits: 0x03 },
  { type: 4, bits: 0x00 },
  { type: 5, bits: 0x01 },
];

interface AlgorithmsOptions {
  lengthDelta?: number;
  tables?: AlgTable[];
  baseHash?: number;
  otherParams?: number;
}

/** NEGOTIATE_ALGORITHMS offering P-256/P-384, SHA-256/384, the four struct tables. */
function algorithmsRequest(version: number, o: AlgorithmsOptions = {}): Uint8Array {
  const t = new Bytes();
  const tables = o.tables ?? GOOD_TABLES;
  for (const x of tables)
    t.u8(x.type)
      .u8(x.count ?? 0x20)
      .u16(x.bits);
  const tableBytes = t.finish();
  const length = 32 + (version >= 0x11 ? tableBytes.length : 0);
  const b = new Bytes()
    .u16(length + (o.lengthDelta ?? 0))
    .u8(0x01) // DMTF measurement spec
    .u8(o.otherParams ?? (version >= 0x12 ? 0x02 : 0)) // opaque data format 1
    .u32(0x90) // ECDSA P-256 | P-384
    .u32(o.baseHash ?? 0x03) // SHA-256 | SHA-384
    .zeros(16);
  if (version >= 0x11) b.bytes(tableBytes);
  return spdm(
    version,
    SPDM_NEGOTIATE_ALGORITHMS,
    version >= 0x11 ? tables.length : 0,
    0,
    b.finish(),
  );
}

function challengeRequest(version: number, slot: number): Uint8Array {
  const body = new Bytes().bytes(randomBytes(32));
  if (version >= 0x13) body.zeros(8);
  return spdm(version, SPDM_CHALLENGE, slot, 0, body.finish());
}

function certRequest(version: number, slot: number, offset: number, length: number): Uint8Array {
  return spdm(version, SPDM_GET_CERTIFICATE, slot, 0, new Bytes().u16(offset).u16(length).finish());
}

export const has = (c: Conn, cap: number) => (c.peerFlags & cap) !== 0;

export function spdmCase(
  id: string,
  rule: string,
  title: string,
  run: (ctx: CaseContext) => Promise<void>,
): ConformanceCase {
  return { id: `spdm.${id}`, group: 'spdm', rule, title, run };
}

// -- version

const versionCases: ConformanceCase[] = [
  spdmCase(
    'version.get-version',
    `${DSP0274} GET_VERSION / VERSION`,
    'VERSION lists the versions the responder supports, with SPDMVersion 0x10',
    async (ctx) => {
      const c = await ctx.open();
      const rsp = await c.plain(spdm(0x10, SPDM_GET_VERSION));
      expectCode(rsp, 0x04, 'VERSION');
      check(rsp[0] === 0x10, 'VERSION with SPDMVersion 0x10', `0x${rsp[0].toString(16)}`, rsp);
      const listed = versionsOf(rsp);
      check(listed.length > 0, 'at least one VersionNumberEntry', 'none', rsp);
      for (const v of ctx.target.versions ?? []) {
        check(
          listed.includes(v),
          `version ${v.toString(16)} listed (--ver)`,
          `versions ${listed.map((x) => x.toString(16)).join(',')}`,
          rsp,
        );
      }
    },
  ),
  spdmCase(
    'version.caps-before-version',
    `${DSP0274} GET_VERSION: the first request of a connection`,
    'GET_CAPABILITIES before GET_VERSION is UnexpectedRequest',
    async (ctx) => {
      const c = await ctx.open();
      const rsp = await c.plain(capsRequest(0x12, DEFAULT_REQUESTER_CAPABILITIES));
      expectError(rsp, [E.UnexpectedRequest, E.VersionMismatch], 'before GET_VERSION');
    },
  ),
  spdmCase(
    'version.unsupported-version',
    `${DSP0274} ERROR VersionMismatch`,
    'a request in a version the responder does not speak is VersionMismatch',
    async (ctx) => {
      const c = await ctx.open();
      await getVersion(c);
      const rsp = await c.plain(capsRequest(0x1f, DEFAULT_REQUESTER_CAPABILITIES));
      expectError(rsp, [E.VersionMismatch], 'for SPDMVersion 0x1F');
    },
  ),
  spdmCase(
    'version.other-version-after-vca',
    `${DSP0274} ERROR VersionMismatch`,
    'after negotiation, a request in another version is VersionMismatch',
    async (ctx) => {
      const c = await ctx.open();
      const { version } = await c.vca();
      const other = version.peerVersions.find((v) => v !== c.version && v >= 0x10 && v <= 0x13);
      requires(other !== undefined, 'the responder speaks one version only');
      const rsp = await c.plain(spdm(other!, SPDM_GET_DIGESTS));
      expectError(
        rsp,
        [E.VersionMismatch],
        `for GET_DIGESTS in 0x${other!.toString(16)} after negotiating 0x${c.version.toString(16)}`,
      );
    },
  ),
  spdmCase(
    'version.restart',
    `${DSP0274} GET_VERSION resets the connection state`,
    'GET_VERSION after negotiation starts over: GET_DIGESTS is then UnexpectedRequest',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      const v = c.version;
      expectCode(await c.plain(spdm(0x10, SPDM_GET_VERSION)), 0x04, 'VERSION');
      expectError(
        await c.plain(spdm(v, SPDM_GET_DIGESTS)),
        [E.UnexpectedRequest],
        'after the restart',
      );
    },
  ),
];

// -- capabilities

/** Requester Flags combinations the requester table of GET_CAPABILITIES forbids. */
const BAD_REQUESTER_FLAGS: { id: string; flags: number; what: string }[] = [
  {
    id: 'key-ex-without-encrypt-mac',
    flags: SPDM_CAP.CERT_CAP | SPDM_CAP.KEY_EX_CAP,
    what: 'KEY_EX_CAP without ENCRYPT_CAP or MAC_CAP',
  },
  {
    id: 'encrypt-without-key-ex-psk',
    flags: SPDM_CAP.CERT_CAP | SPDM_CAP.ENCRYPT_CAP | SPDM_CAP.MAC_CAP,
    what: 'ENCRYPT_CAP and MAC_CAP without KEY_EX_CAP or PSK_CAP',
  },
  {
    id: 'psk-reserved',
    flags:
      SPDM_CAP.ENCRYPT_CAP |
      SPDM_CAP.MAC_CAP |
      SPDM_CAP.PSK_CAP_RESPONDER |
      SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT,
    what: 'PSK_CAP = 3 (reserved for a requester)',
  },
  {
    id: 'handshake-in-clear-without-key-ex',
    flags:
      SPDM_CAP.ENCRYPT_CAP |
      SPDM_CAP.MAC_CAP |
      SPDM_CAP.PSK_CAP_RESPONDER |
      SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP,
    what: 'HANDSHAKE_IN_THE_CLEAR_CAP without KEY_EX_CAP',
  },
  {
    id: 'pub-key-id-with-cert',
    flags: SPDM_CAP.CERT_CAP | SPDM_CAP.PUB_KEY_ID_CAP | SPDM_CAP.CHAL_CAP,
    what: 'PUB_KEY_ID_CAP together with CERT_CAP',
  },
  {
    id: 'mut-auth-without-encap',
    flags:
      SPDM_CAP.CERT_CAP |
      SPDM_CAP.MUT_AUTH_CAP |
      SPDM_CAP.KEY_EX_CAP |
      SPDM_CAP.ENCRYPT_CAP |
      SPDM_CAP.MAC_CAP,
    what: 'MUT_AUTH_CAP without ENCAP_CAP',
  },
];

const capsCases: ConformanceCase[] = [
  spdmCase(
    'caps.response-flags',
    `${DSP0274} §10.4 CAPABILITIES, Flag fields for the Responder`,
    'the responder Flags form a valid combination and the 1.2+ buffer sizes hold',
    async (ctx) => {
      const c = await ctx.open();
      const { capabilities } = await c.vca();
      const problem =
        capabilityFlagsProblem(capabilities.flags, 'responder', c.version) ??
        (c.version >= 0x12
          ? transferSizeProblem(
              capabilities.flags,
              capabilities.dataTransferSize ?? 0,
              capabilities.maxSpdmMsgSize ?? 0,
              c.version,
            )
          : undefined);
      check(problem === undefined, 'valid responder Flags', problem ?? '');
    },
  ),
  ...BAD_REQUESTER_FLAGS.map((b) =>
    spdmCase(
      `caps.invalid.${b.id}`,
      `${DSP0274} §10.4 GET_CAPABILITIES, Flag fields for the Requester`,
      `GET_CAPABILITIES with ${b.what} is InvalidRequest`,
      async (ctx) => {
        const c = await ctx.open();
        const v = await getVersion(c);
        requires(
          capabilityFlagsProblem(b.flags, 'requester', v) !== undefined,
          `the rule does not apply in SPDM ${v >> 4}.${v & 0xf}`,
        );
        expectError(await c.plain(capsRequest(v, b.flags)), [E.InvalidRequest], `for ${b.what}`);
      },
    ),
  ),
  spdmCase(
    'caps.invalid.data-transfer-size-below-42',
    `${DSP0274} §10.4 GET_CAPABILITIES DataTransferSize`,
    'DataTransferSize below 42 is InvalidRequest',
    async (ctx) => {
      const c = await ctx.open();
      const v = await getVersion(c);
      requires(v >= 0x12, 'DataTransferSize exists from SPDM 1.2');
      expectError(
        await c.plain(capsRequest(v, DEFAULT_REQUESTER_CAPABILITIES, 41, 41)),
        [E.InvalidRequest],
        'for DataTransferSize 41',
      );
    },
  ),
  spdmCase(
    'caps.invalid.max-below-data-transfer-size',
    `${DSP0274} §10.4 GET_CAPABILITIES MaxSPDMmsgSize`,
    'MaxSPDMmsgSize below DataTransferSize is InvalidRequest',
    async (ctx) => {
      const c = await ctx.open();
      const v = await getVersion(c);
      requires(v >= 0x12, 'MaxSPDMmsgSize exists from SPDM 1.2');
      expectError(
        await c.plain(capsRequest(v, DEFAULT_REQUESTER_CAPABILITIES, 0x1200, 0x100)),
        [E.InvalidRequest],
        'for MaxSPDMmsgSize < DataTransferSize',
      );
    },
  ),
  spdmCase(
    'caps.truncated',
    `${DSP0274} §10.4 GET_CAPABILITIES request length`,
    "a GET_CAPABILITIES shorter than its version's layout is InvalidRequest",
    async (ctx) => {
      const c = await ctx.open();
      const v = await getVersion(c);
      requires(v >= 0x11, 'the 1.0 request has no body');
      const full = capsRequest(v, DEFAULT_REQUESTER_CAPABILITIES);
      expectError(
        await c.plain(full.slice(0, full.length - 4)),
        [E.InvalidRequest],
        'for a request 4 bytes short',
      );
    },
  ),
];

// -- algorithms

/** NEGOTIATE_ALGORITHMS requests the request rules forbid. */
const INVALID_ALGORITHMS: {
  id: string;
  rule: string;
  what: string;
  since: number;
  options: AlgorithmsOptions;
}[] = [
  {
    id: 'struct-order',
    rule: 'AlgStructure tables in ascending AlgType order',
    what: 'the AEAD table before the DHE table',
    since: 0x11,
    options: { tables: [GOOD_TABLES[1], GOOD_TABLES[0], GOOD_TABLES[2], GOOD_TABLES[3]] },
  },
  {
    id: 'struct-repeated',
    rule: 'each AlgType at most once',
    what: 'the DHE table twice',
    since: 0x11,
    options: { tables: [GOOD_TABLES[0], GOOD_TABLES[0], ...GOOD_TABLES.slice(1)] },
  },
  {
    id: 'opaque-two-formats',
    rule: 'OtherParamsSupport: at most one OpaqueDataFmt bit',
    what: 'OpaqueDataFmt0 and OpaqueDataFmt1 both set',
    since: 0x12,
    options: { otherParams: 0x03 },
  },
  {
    id: 'no-base-hash',
    rule: 'BaseHashAlgo: the requester offers at least one hash',
    what: 'BaseHashAlgo 0',
    since: 0x10,
    options: { baseHash: 0 },
  },
];

const algCases: ConformanceCase[] = [
  spdmCase(
    'algs.selection',
    `${DSP0274} NEGOTIATE_ALGORITHMS / ALGORITHMS`,
    'ALGORITHMS selects one offered algorithm of each kind (checked by the requester)',
    async (ctx) => {
      const c = await ctx.open();
      const { negotiated } = await c.vca();
      check(negotiated.selection.baseHash !== 0, 'a base hash selected', 'none');
    },
  ),
  spdmCase(
    'algs.before-caps',
    `${DSP0274} NEGOTIATE_ALGORITHMS follows GET_CAPABILITIES`,
    'NEGOTIATE_ALGORITHMS right after GET_VERSION is UnexpectedRequest',
    async (ctx) => {
      const c = await ctx.open();
      const v = await getVersion(c);
      expectError(
        await c.plain(algorithmsRequest(v)),
        [E.UnexpectedRequest],
        'before GET_CAPABILITIES',
      );
    },
  ),
  spdmCase(
    'algs.length-mismatch',
    `${DSP0274} NEGOTIATE_ALGORITHMS Length`,
    "a Length field that is not the request's size is InvalidRequest",
    async (ctx) => {
      const c = await ctx.open();
      const v = await versionAndCaps(c);
      expectError(
        await c.plain(algorithmsRequest(v, { lengthDelta: 8 })),
        [E.InvalidRequest],
        'for Length 8 bytes too large',
      );
    },
  ),
  ...INVALID_ALGORITHMS.map((b) =>
    spdmCase(
      `algs.invalid.${b.id}`,
      `${DSP0274} §10.5 NEGOTIATE_ALGORITHMS ${b.rule}`,
      `NEGOTIATE_ALGORITHMS with ${b.what} is InvalidRequest`,
      async (ctx) => {
        const c = await ctx.open();
        const v = await versionAndCaps(c);
        requires(v >= b.since, `the rule applies from SPDM ${b.since >> 4}.${b.since & 0xf}`);
        expectError(
          await c.plain(algorithmsRequest(v, b.options)),
          [E.InvalidRequest],
          `for ${b.what}`,
        );
      },
    ),
  ),
  spdmCase(
    'algs.invalid.no-dhe-with-key-ex',
    `${DSP0274} §10.5 NEGOTIATE_ALGORITHMS: with KEY_EX_CAP on both sides a DHE group must be selectable`,
    'NEGOTIATE_ALGORITHMS offering no DHE group while both sides claim KEY_EX_CAP is InvalidRequest',
    async (ctx) => {
      const c = await ctx.open();
      const v = await getVersion(c);
      requires(v >= 0x11, 'the DHE table exists from SPDM 1.1');
      const caps = await c.plain(capsRequest(v, DEFAULT_REQUESTER_CAPABILITIES));
      expectCode(caps, 0x61, 'CAPABILITIES (setup)');
      const flags =
        caps.length >= 12
          ? (caps[8] | (caps[9] << 8) | (caps[10] << 16) | (caps[11] << 24)) >>> 0
          : 0;
      requires((flags & SPDM_CAP.KEY_EX_CAP) !== 0, 'the responder does not claim KEY_EX_CAP');
      const tables = GOOD_TABLES.map((t) => (t.type === 2 ? { ...t, bits: 0 } : t));
      expectError(
        await c.plain(algorithmsRequest(v, { tables })),
        [E.InvalidRequest],
        'for an empty DHE table',
      );
    },
  ),
  spdmCase(
    'algs.repeated',
    `${DSP0274} connection state: NEGOTIATE_ALGORITHMS once per connection`,
    'a second NEGOTIATE_ALGORITHMS is UnexpectedRequest',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      expectError(
        await c.plain(algorithmsRequest(c.version)),
        [E.UnexpectedRequest],
        'after ALGORITHMS',
      );
    },
  ),
];

// -- digests and certificates

async function certCase(ctx: CaseContext): Promise<{ c: Conn; chain: Uint8Array }> {
  const c = await ctx.open();
  await c.vca();
  requires(has(c, SPDM_CAP.CERT_CAP), 'the responder does not claim CERT_CAP');
  await c.authenticate();
  return { c, chain: c.requester.peerChain(0)!.buffer };
}

const certCases: ConformanceCase[] = [
  spdmCase(
    'digests.match-chain',
    `${DSP0274} GET_DIGESTS / DIGESTS`,
    'DIGESTS names slot 0 and its digest is Hash(slot 0 chain)',
    async (ctx) => {
      const { c } = await certCase(ctx);
      const rsp = await c.raw(spdm(c.version, SPDM_GET_DIGESTS));
      expectCode(rsp, 0x01, 'DIGESTS');
      const hash = c.requester.peerChain(0)!.hash;
      check((rsp[3] & 1) === 1, 'slot 0 in the slot mask', `mask 0x${rsp[3].toString(16)}`, rsp);
      check(
        bytesEqual(rsp.slice(4, 4 + hash.length), hash),
        'Hash(chain) for slot 0',
        'another digest',
        rsp,
      );
    },
  ),
  spdmCase(
    'cert.chain-verifies',
    `${DSP0274} GET_CERTIFICATE / CERTIFICATE; certificate chain format`,
    'the slot 0 chain is served in portions and verifies to the trust anchor',
    async (ctx) => {
      await certCase(ctx);
    },
  ),
  spdmCase(
    'cert.small-portion',
    `${DSP0274} GET_CERTIFICATE Offset / Length`,
    "a 16-byte portion at offset 0: PortionLength <= 16, RemainderLength = the rest, the chain's bytes",
    async (ctx) => {
      const { c, chain } = await certCase(ctx);
      const rsp = await c.raw(certRequest(c.version, 0, 0, 16));
      expectCode(rsp, 0x02, 'CERTIFICATE');
      const portion = u16At(rsp, 4);
      const remainder = u16At(rsp, 6);
      check(portion > 0 && portion <= 16, 'PortionLength 1..16', String(portion), rsp);
      check(
        portion + remainder === chain.length,
        `PortionLength + RemainderLength = ${chain.length}`,
        String(portion + remainder),
        rsp,
      );
      check(
        bytesEqual(rsp.slice(8, 8 + portion), chain.slice(0, portion)),
        "the chain's first bytes",
        'other bytes',
        rsp,
      );
    },
  ),
  spdmCase(
    'cert.middle-portion',
    `${DSP0274} GET_CERTIFICATE Offset / Length`,
    "a portion from the middle of the chain is the chain's bytes there",
    async (ctx) => {
      const { c, chain } = await certCase(ctx);
      const off = chain.length >> 1;
      const rsp = await c.raw(certRequest(c.version, 0, off, 32));
      expectCode(rsp, 0x02, 'CERTIFICATE');
      const portion = u16At(rsp, 4);
      check(portion > 0 && portion <= 32, 'PortionLength 1..32', String(portion), rsp);
      check(
        portion + u16At(rsp, 6) === chain.length - off,
        `RemainderLength ${chain.length - off - portion}`,
        String(u16At(rsp, 6)),
        rsp,
      );
      check(
        bytesEqual(rsp.slice(8, 8 + portion), chain.slice(off, off + portion)),
        `the chain's bytes at ${off}`,
        'other bytes',
        rsp,
      );
    },
  ),
  spdmCase(
    'cert.offset-beyond-chain',
    `${DSP0274} GET_CERTIFICATE Offset`,
    'an Offset beyond the chain is InvalidRequest',
    async (ctx) => {
      const { c, chain } = await certCase(ctx);
      expectError(
        await c.raw(certRequest(c.version, 0, chain.length + 16, 16)),
        [E.InvalidRequest],
        `for Offset ${chain.length + 16} of a ${chain.length}-byte chain`,
      );
    },
  ),
  spdmCase(
    'cert.empty-slot',
    `${DSP0274} GET_CERTIFICATE SlotID`,
    'GET_CERTIFICATE of a slot with no chain is InvalidRequest',
    async (ctx) => {
      const { c } = await certCase(ctx);
      const d = await c.requester.getDigests();
      requires((d.slotMask & 0x80) === 0, 'slot 7 is provisioned');
      expectError(await c.raw(certRequest(c.version, 7, 0, 16)), [E.InvalidRequest], 'for slot 7');
    },
  ),
];

// -- CHALLENGE

async function challengeConn(ctx: CaseContext): Promise<Conn> {
  const c = await ctx.open();
  await c.vca();
  requires(has(c, SPDM_CAP.CHAL_CAP), 'the responder does not claim CHAL_CAP');
  await c.authenticate();
  return c;
}

const challengeCases: ConformanceCase[] = [
  ...(['none', 'tcb', 'all'] as const).map((summary) =>
    spdmCase(
      `challenge.summary-${summary}`,
      `${DSP0274} CHALLENGE / CHALLENGE_AUTH`,
      `CHALLENGE_AUTH (summary hash ${summary}) carries the chain hash and nonce and its signature verifies`,
      async (ctx) => {
        const c = await challengeConn(ctx);
        if (summary !== 'none')
          requires((c.peerFlags & 0x18) !== 0, 'no measurements, so no summary hash');
        await c.requester.challenge(0, summary);
      },
    ),
  ),
  spdmCase(
    'challenge.empty-slot',
    `${DSP0274} CHALLENGE SlotID`,
    'CHALLENGE for a slot with no chain is InvalidRequest',
    async (ctx) => {
      const c = await challengeConn(ctx);
      const d = await c.requester.getDigests();
      requires((d.slotMask & 0x80) === 0, 'slot 7 is provisioned');
      expectError(await c.raw(challengeRequest(c.version, 7)), [E.InvalidRequest], 'for slot 7');
    },
  ),
  spdmCase(
    'challenge.truncated',
    `${DSP0274} CHALLENGE request length`,
    'a CHALLENGE without its whole nonce is InvalidRequest',
    async (ctx) => {
      const c = await challengeConn(ctx);
      expectError(
        await c.raw(challengeRequest(c.version, 0).slice(0, 20)),
        [E.InvalidRequest],
        'for a 20-byte CHALLENGE',
      );
    },
  ),
];

// -- measurements

async function measConn(ctx: CaseContext, signed = false): Promise<Conn> {
  const c = await ctx.open();
  await c.vca();
  const meas = (c.peerFlags >>> 3) & 3;
  requires(meas !== 0, 'the responder does not claim MEAS_CAP');
  if (signed) requires(meas === 2, 'the responder does not sign measurements');
  if (meas === 2) await c.authenticate();
  return c;
}

const measCases: ConformanceCase[] = [
  spdmCase(
    'meas.count',
    `${DSP0274} GET_MEASUREMENTS operation 0`,
    'operation 0 returns the number of blocks, and "all" returns that many',
    async (ctx) => {
      const c = await measConn(ctx);
      const n = await c.requester.getMeasurements({ index: 'count', signed: false });
      const all = await c.requester.getMeasurements({ index: 'all', signed: false });
      check(
        n.totalNumberOfMeasurements === all.blocks.length,
        `${n.totalNumberOfMeasurements} blocks`,
        `${all.blocks.length}`,
      );
    },
  ),
  spdmCase(
    'meas.all-signed',
    `${DSP0274} MEASUREMENTS signature (L1/L2)`,
    'all blocks, signed: the signature over L1/L2 verifies',
    async (ctx) => {
      const c = await measConn(ctx, true);
      const r = await c.requester.getMeasurements({ index: 'all', signed: true });
      check(
        r.signed && r.blocks.length > 0,
        'signed blocks',
        `${r.blocks.length} blocks, signed ${r.signed}`,
      );
    },
  ),
  spdmCase(
    'meas.each-index',
    `${DSP0274} GET_MEASUREMENTS by index`,
    'each index returns exactly its block',
    async (ctx) => {
      const c = await measConn(ctx);
      const all = await c.requester.getMeasurements({ index: 'all', signed: false });
      for (const b of all.blocks) {
        const one = await c.requester.getMeasurements({ index: b.index, signed: false });
        check(
          one.blocks.length === 1 && one.blocks[0].index === b.index,
          `block ${b.index}`,
          one.blocks.map((x) => x.index).join(',') || 'none',
        );
      }
    },
  ),
  spdmCase(
    'meas.raw-bitstream',
    `${DSP0274} GET_MEASUREMENTS RawBitStreamRequested`,
    'a raw bit stream request is answered with blocks',
    async (ctx) => {
      const c = await measConn(ctx);
      const r = await c.requester.getMeasurements({ index: 'all', signed: false, raw: true });
      check(r.blocks.length > 0, 'blocks', 'none');
    },
  ),
  spdmCase(
    'meas.absent-index',
    `${DSP0274} GET_MEASUREMENTS index with no block`,
    'an index with no block is InvalidRequest',
    async (ctx) => {
      const c = await measConn(ctx);
      const all = await c.requester.getMeasurements({ index: 'all', signed: false });
      const free = [0xfd, 0xf0, 0x80].find((i) => !all.blocks.some((b) => b.index === i));
      requires(free !== undefined, 'every probed index holds a block');
      expectError(
        await c.raw(spdm(c.version, SPDM_GET_MEASUREMENTS, 0, free!)),
        [E.InvalidRequest],
        `for index 0x${free!.toString(16)}`,
      );
    },
  ),
  spdmCase(
    'meas.signed-truncated',
    `${DSP0274} GET_MEASUREMENTS request length`,
    'a signed request without its nonce is InvalidRequest',
    async (ctx) => {
      const c = await measConn(ctx, true);
      expectError(
        await c.raw(spdm(c.version, SPDM_GET_MEASUREMENTS, 1, 0xff)),
        [E.InvalidRequest],
        'for a signed request of 4 bytes',
      );
    },
  ),
];

// -- sessions

async function sessionConn(ctx: CaseContext): Promise<Conn> {
  const c = await ctx.open();
  await c.vca();
  requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
  await c.session();
  return c;
}

/** SessionRequired from 1.2; before, no such code exists. */
export const sessionRequired = (v: number) =>
  v >= 0x12 ? [E.SessionRequired] : [E.UnexpectedRequest, E.Unspecified];

const sessionCases: ConformanceCase[] = [
  spdmCase(
    'session.key-exchange-finish',
    `${DSP0274} KEY_EXCHANGE / FINISH; DSP0277 secured messages`,
    'KEY_EXCHANGE_RSP signature and VerifyData verify, FINISH_RSP opens with the handshake keys',
    async (ctx) => {
      await sessionConn(ctx);
    },
  ),
  spdmCase(
    'session.measurements-in-session',
    `${DSP0274} GET_MEASUREMENTS in a session`,
    'measurements are answered inside the session',
    async (ctx) => {
      const c = await sessionConn(ctx);
      requires(((c.peerFlags >>> 3) & 3) !== 0, 'the responder does not claim MEAS_CAP');
      const s = await c.session();
      await c.requester.getMeasurements({ index: 'all', session: s });
    },
  ),
  spdmCase(
    'session.heartbeat',
    `${DSP0274} HEARTBEAT`,
    'HEARTBEAT in the session is acknowledged',
    async (ctx) => {
      const c = await sessionConn(ctx);
      requires(has(c, SPDM_CAP.HBEAT_CAP), 'the responder does not claim HBEAT_CAP');
      await c.requester.heartbeat(await c.session());
    },
  ),
  spdmCase(
    'session.key-update',
    `${DSP0274} KEY_UPDATE`,
    'KEY_UPDATE UpdateKey and VerifyNewKey: the session goes on under the new keys',
    async (ctx) => {
      const c = await sessionConn(ctx);
      requires(has(c, SPDM_CAP.KEY_UPD_CAP), 'the responder does not claim KEY_UPD_CAP');
      const s = await c.session();
      await c.requester.keyUpdate(s, 'update-key');
      await c.requester.keyUpdate(s, 'update-all-keys');
    },
  ),
  spdmCase(
    'session.end-session',
    `${DSP0274} END_SESSION`,
    'END_SESSION is acknowledged',
    async (ctx) => {
      const c = await sessionConn(ctx);
      await c.requester.endSession(await c.session());
    },
  ),
  spdmCase(
    'session.get-version-in-session',
    `${DSP0274} GET_VERSION shall not be sent in a session`,
    'GET_VERSION inside a session is UnexpectedRequest',
    async (ctx) => {
      const c = await sessionConn(ctx);
      expectError(
        await c.raw(spdm(0x10, SPDM_GET_VERSION), true),
        [E.UnexpectedRequest],
        'inside the session',
      );
    },
  ),
  spdmCase(
    'session.key-exchange-in-session',
    `${DSP0274} KEY_EXCHANGE outside sessions only`,
    'KEY_EXCHANGE inside a session is UnexpectedRequest',
    async (ctx) => {
      const c = await sessionConn(ctx);
      const d = c.requester.negotiated!.sizes;
      const body = new Bytes()
        .u16(0xfffe)
        .u8(0)
        .u8(0)
        .bytes(randomBytes(32))
        .zeros(d.dheSize)
        .u16(0)
        .finish();
      expectError(
        await c.raw(spdm(c.version, SPDM_KEY_EXCHANGE, 0, 0, body), true),
        [E.UnexpectedRequest],
        'inside the session',
      );
    },
  ),
  spdmCase(
    'session.end-session-in-clear',
    `${DSP0274} END_SESSION is a session request (SessionRequired)`,
    'END_SESSION in the clear is SessionRequired',
    async (ctx) => {
      const c = await sessionConn(ctx);
      expectError(
        await c.raw(spdm(c.version, SPDM_END_SESSION)),
        sessionRequired(c.version),
        'in the clear',
      );
    },
  ),
  spdmCase(
    'session.heartbeat-in-clear',
    `${DSP0274} HEARTBEAT is a session request (SessionRequired)`,
    'HEARTBEAT in the clear is SessionRequired',
    async (ctx) => {
      const c = await sessionConn(ctx);
      requires(has(c, SPDM_CAP.HBEAT_CAP), 'the responder does not claim HBEAT_CAP');
      expectError(
        await c.raw(spdm(c.version, SPDM_HEARTBEAT)),
        sessionRequired(c.version),
        'in the clear',
      );
    },
  ),
  spdmCase(
    'session.finish-in-clear',
    `${DSP0274} FINISH travels in the session (unless HANDSHAKE_IN_THE_CLEAR)`,
    'FINISH in the clear without a handshake is refused',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
      const hsize = c.requester.negotiated!.sizes.hashSize;
      const rsp = await c.raw(spdm(c.version, SPDM_FINISH, 0, 0, new Uint8Array(hsize)));
      expectError(
        rsp,
        [...sessionRequired(c.version), E.UnexpectedRequest, E.InvalidRequest],
        'with no session',
      );
    },
  ),
];

// -- requests before their connection state

const EARLY: { name: string; build: (v: number) => Uint8Array }[] = [
  { name: 'GET_DIGESTS', build: (v) => spdm(v, SPDM_GET_DIGESTS) },
  { name: 'GET_CERTIFICATE', build: (v) => certRequest(v, 0, 0, 0x100) },
  { name: 'CHALLENGE', build: (v) => challengeRequest(v, 0) },
  { name: 'GET_MEASUREMENTS', build: (v) => spdm(v, SPDM_GET_MEASUREMENTS, 0, 0) },
];

const stateCases: ConformanceCase[] = EARLY.flatMap((r) =>
  (['after-version', 'after-capabilities'] as const).map((when) =>
    spdmCase(
      `state.${r.name.toLowerCase().replace(/_/g, '-')}-${when}`,
      `${DSP0274} connection state: requests after NEGOTIATE_ALGORITHMS`,
      `${r.name} ${when.replace('-', ' ')} is UnexpectedRequest`,
      async (ctx) => {
        const c = await ctx.open();
        const v = when === 'after-version' ? await getVersion(c) : await versionAndCaps(c);
        expectError(await c.plain(r.build(v)), [E.UnexpectedRequest], `${when.replace('-', ' ')}`);
      },
    ),
  ),
);

// -- malformed requests

const TRUNCATED: { name: string; code: number; p1: number; needs: number }[] = [
  { name: 'get-certificate', code: SPDM_GET_CERTIFICATE, p1: 0, needs: SPDM_CAP.CERT_CAP },
  { name: 'challenge', code: SPDM_CHALLENGE, p1: 0, needs: SPDM_CAP.CHAL_CAP },
  { name: 'key-exchange', code: SPDM_KEY_EXCHANGE, p1: 0, needs: SPDM_CAP.KEY_EX_CAP },
];

const malformedCases: ConformanceCase[] = [
  ...TRUNCATED.map((t) =>
    spdmCase(
      `malformed.${t.name}-header-only`,
      `${DSP0274} request lengths; ERROR InvalidRequest`,
      `a ${t.name.toUpperCase().replace(/-/g, '_')} of only the 4-byte header is InvalidRequest`,
      async (ctx) => {
        const c = await ctx.open();
        await c.vca();
        requires(has(c, t.needs), 'the responder does not claim the capability');
        if (t.code !== SPDM_KEY_EXCHANGE) await c.authenticate();
        expectError(
          await c.raw(spdm(c.version, t.code, t.p1, 0)),
          [E.InvalidRequest],
          'for a header-only request',
        );
      },
    ),
  ),
  spdmCase(
    'malformed.unknown-request-code',
    `${DSP0274} ERROR UnsupportedRequest`,
    'an undefined request code is UnsupportedRequest',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      expectError(await c.raw(spdm(c.version, 0x8f)), [E.UnsupportedRequest], 'for code 0x8F');
    },
  ),
  spdmCase(
    'malformed.digests-trailing-bytes',
    `${DSP0274} request lengths`,
    'the connection survives a GET_DIGESTS with trailing bytes (answered or InvalidRequest)',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      requires(has(c, SPDM_CAP.CERT_CAP), 'the responder does not claim CERT_CAP');
      const rsp = await c.raw(spdm(c.version, SPDM_GET_DIGESTS, 0, 0, new Uint8Array(64)));
      check(
        rsp[1] === 0x01 || spdmErrorCode(rsp) === E.InvalidRequest,
        'DIGESTS or ERROR InvalidRequest',
        describeSpdmResponse(rsp),
        rsp,
      );
      expectCode(await c.raw(spdm(c.version, SPDM_GET_DIGESTS)), 0x01, 'DIGESTS afterwards');
    },
  ),
];

export const SPDM_CASES: ConformanceCase[] = [
  ...versionCases,
  ...capsCases,
  ...algCases,
  ...certCases,
  ...challengeCases,
  ...measCases,
  ...sessionCases,
  ...stateCases,
  ...malformedCases,
];
