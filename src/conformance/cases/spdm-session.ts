/**
 * SPDM session cases beyond the plain KEY_EXCHANGE / FINISH flow (DSP0274 1.3 sections
 * 10.17-10.21, DSP0277): the handshake with and without HANDSHAKE_IN_THE_CLEAR_CAP,
 * requests sent in a session's handshake phase (only the finishing request is legal
 * there), the finishing request of the other session kind (PSK_FINISH in a KEY_EXCHANGE
 * session, the pattern of CVE-2023-31127, and FINISH in a PSK session), session requests
 * in the clear (SessionRequired), and HEARTBEAT against its period. The handshake-phase
 * cases hold the session by hand (handshake.ts); the others go through the requester.
 */
import { digest } from '../../crypto/hash.ts';
import { verifyData } from '../../crypto/key-schedule.ts';
import { DEFAULT_REQUESTER_CAPABILITIES } from '../../spdm/config.ts';
import { SpdmErrorResponse, SpdmVerifyError } from '../../spdm/requester/index.ts';
import { thBytes } from '../../spdm/transcript.ts';
import { TransportError } from '../../transport/types.ts';
import {
  SPDM_CAP,
  SPDM_END_SESSION,
  SPDM_FINISH,
  SPDM_GET_CERTIFICATE,
  SPDM_GET_DIGESTS,
  SPDM_GET_MEASUREMENTS,
  SPDM_HEARTBEAT,
  SPDM_KEY_UPDATE,
  SPDM_PSK_FINISH,
} from '../../wire/spdm/constants.ts';
import { type ConformanceCase, check, requires } from '../case.ts';
import type { CaseContext, Conn } from '../context.ts';
import {
  describeSecured,
  type Handshake,
  keyExchangeOnly,
  pskExchangeOnly,
  refused,
  type SecuredAnswer,
  sendSecured,
} from '../handshake.ts';
import { Bytes, pciSigRequest, spdm, spdmErrorCode } from '../messages.ts';
import { DSP0274, E, expectError, has, sessionRequired, spdmCase } from './spdm.ts';

const PSK_CAP = SPDM_CAP.PSK_CAP_RESPONDER | SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT;
const HITC = SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Header || HMAC(request finished_key, Hash(TH || header)): FINISH / PSK_FINISH as the requester builds them. */
function finishingRequest(h: Handshake, version: number, code: number): Uint8Array {
  const header = Uint8Array.of(version, code, 0, 0);
  if (h.session.phase !== 'handshake' || !h.session.handshake) {
    throw new Error('the session has no handshake keys');
  }
  const vd = verifyData(
    h.session.schedule,
    h.session.handshake.request.finishedKey,
    digest(h.transcript.hash, thBytes(h.transcript), header),
  );
  return new Bytes().bytes(header).bytes(vd).finish();
}

/** A connection with a KEY_EXCHANGE session in its handshake phase. */
async function dheHandshake(ctx: CaseContext): Promise<{ c: Conn; h: Handshake }> {
  const c = await ctx.open();
  await c.vca();
  requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
  requires(has(c, SPDM_CAP.CERT_CAP), 'the responder does not claim CERT_CAP');
  requires(
    !c.requester.negotiated?.handshakeInTheClear,
    'the handshake is in the clear (HANDSHAKE_IN_THE_CLEAR_CAP)',
  );
  return { c, h: await keyExchangeOnly(c) };
}

/** Fails unless `a` is an ERROR with one of `codes` sealed in the session. */
function expectSealedError(a: SecuredAnswer, codes: number[], what: string): void {
  const code = a.kind === 'secured' ? spdmErrorCode(a.message) : undefined;
  check(
    code !== undefined && codes.includes(code),
    `ERROR ${codes.map((x) => `0x${x.toString(16)}`).join(' or ')} in the session ${what}`,
    describeSecured(a),
    a.kind === 'silent' ? undefined : a.message,
  );
}

/** Requests that are not the finishing request, each needing a responder capability. */
const IN_HANDSHAKE: {
  name: string;
  needs: number;
  build: (v: number) => Uint8Array;
}[] = [
  { name: 'get-digests', needs: SPDM_CAP.CERT_CAP, build: (v) => spdm(v, SPDM_GET_DIGESTS) },
  {
    name: 'get-certificate',
    needs: SPDM_CAP.CERT_CAP,
    build: (v) => spdm(v, SPDM_GET_CERTIFICATE, 0, 0, new Bytes().u16(0).u16(0x100).finish()),
  },
  {
    name: 'get-measurements',
    needs: SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG,
    build: (v) => spdm(v, SPDM_GET_MEASUREMENTS, 0, 0),
  },
  { name: 'heartbeat', needs: SPDM_CAP.HBEAT_CAP, build: (v) => spdm(v, SPDM_HEARTBEAT) },
  { name: 'key-update', needs: SPDM_CAP.KEY_UPD_CAP, build: (v) => spdm(v, SPDM_KEY_UPDATE, 1, 1) },
  { name: 'end-session', needs: SPDM_CAP.KEY_EX_CAP, build: (v) => spdm(v, SPDM_END_SESSION) },
  {
    name: 'vendor-defined',
    needs: SPDM_CAP.KEY_EX_CAP,
    build: (v) => pciSigRequest(v, 0, Uint8Array.of(0x00, 0, 0)),
  },
];

const handshakePhaseCases: ConformanceCase[] = IN_HANDSHAKE.map((r) =>
  spdmCase(
    `handshake-phase.${r.name}`,
    `${DSP0274} §10.17 / DSP0277: only FINISH is legal in a session's handshake phase`,
    `${r.name.toUpperCase().replace(/-/g, '_')} in the handshake phase is UnexpectedRequest and the handshake still completes`,
    async (ctx) => {
      const { c, h } = await dheHandshake(ctx);
      requires(has(c, r.needs), 'the responder does not claim the capability');
      expectSealedError(
        await sendSecured(c, h, r.build(c.version)),
        [E.UnexpectedRequest],
        'before FINISH',
      );
      const fin = await sendSecured(c, h, finishingRequest(h, c.version, SPDM_FINISH));
      check(
        fin.kind === 'secured' && fin.message[1] === 0x65,
        'FINISH_RSP afterwards',
        describeSecured(fin),
        fin.kind === 'silent' ? undefined : fin.message,
      );
    },
  ),
);

const crossKindCases: ConformanceCase[] = [
  spdmCase(
    'session.psk-finish-in-key-exchange-session',
    `${DSP0274} §10.19 PSK_FINISH belongs to a PSK_EXCHANGE session (CVE-2023-31127)`,
    'PSK_FINISH in a KEY_EXCHANGE session is refused and does not establish it; FINISH still does',
    async (ctx) => {
      const { c, h } = await dheHandshake(ctx);
      const a = await sendSecured(c, h, finishingRequest(h, c.version, SPDM_PSK_FINISH));
      check(
        refused(a),
        'an ERROR (or no answer), the session left in its handshake',
        describeSecured(a),
        a.kind === 'silent' ? undefined : a.message,
      );
      const fin = await sendSecured(c, h, finishingRequest(h, c.version, SPDM_FINISH));
      check(
        fin.kind === 'secured' && fin.message[1] === 0x65,
        'FINISH_RSP under the handshake keys after the refused PSK_FINISH',
        describeSecured(fin),
        fin.kind === 'silent' ? undefined : fin.message,
      );
    },
  ),
  spdmCase(
    'session.finish-in-psk-session',
    `${DSP0274} §10.18 FINISH belongs to a KEY_EXCHANGE session`,
    'FINISH in a PSK_EXCHANGE session is refused; PSK_FINISH then completes it',
    async (ctx) => {
      const psk = ctx.target.psk;
      requires(psk !== undefined, 'no pre-shared key given (--psk)');
      const c = await ctx.open();
      await c.vca();
      requires(
        has(c, SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT),
        'the responder does not claim PSK_CAP with context (no PSK handshake phase)',
      );
      const h = await pskExchangeOnly(c, psk!);
      const a = await sendSecured(c, h, finishingRequest(h, c.version, SPDM_FINISH));
      expectSealedError(a, [E.UnexpectedRequest, E.UnsupportedRequest], 'for FINISH');
      const fin = await sendSecured(c, h, finishingRequest(h, c.version, SPDM_PSK_FINISH));
      check(
        fin.kind === 'secured' && fin.message[1] === 0x67,
        'PSK_FINISH_RSP afterwards',
        describeSecured(fin),
        fin.kind === 'silent' ? undefined : fin.message,
      );
    },
  ),
];

const clearHandshakeCases: ConformanceCase[] = [
  spdmCase(
    'session.handshake-in-the-clear',
    `${DSP0274} §10.17 / §10.18 HANDSHAKE_IN_THE_CLEAR_CAP`,
    'with HANDSHAKE_IN_THE_CLEAR_CAP on both sides: KEY_EXCHANGE_RSP without VerifyData, FINISH in the clear, FINISH_RSP with ResponderVerifyData',
    async (ctx) => {
      const c = await ctx.open({ capabilities: DEFAULT_REQUESTER_CAPABILITIES | HITC });
      await c.vca();
      requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
      requires(has(c, HITC), 'the responder does not claim HANDSHAKE_IN_THE_CLEAR_CAP');
      check(
        c.requester.negotiated?.handshakeInTheClear === true,
        'the handshake in the clear',
        'an encrypted handshake',
      );
      const s = await c.session();
      check(s.phase === 'established', 'an established session', s.phase);
      await c.requester.heartbeat(s).catch(() => undefined);
    },
  ),
  spdmCase(
    'session.handshake-encrypted-when-clear-offered',
    `${DSP0274} §10.17 HANDSHAKE_IN_THE_CLEAR_CAP applies only when both sides set it`,
    'a responder claiming HANDSHAKE_IN_THE_CLEAR_CAP still runs an encrypted handshake with a requester that does not',
    async (ctx) => {
      const c = await ctx.open({ capabilities: DEFAULT_REQUESTER_CAPABILITIES & ~HITC });
      await c.vca();
      requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
      requires(
        has(c, HITC),
        'the responder does not claim HANDSHAKE_IN_THE_CLEAR_CAP (session.key-exchange-finish covers the encrypted handshake)',
      );
      const s = await c.session();
      check(s.phase === 'established', 'an established session', s.phase);
    },
  ),
];

const sessionRequiredCases: ConformanceCase[] = [
  spdmCase(
    'session.key-update-in-clear',
    `${DSP0274} KEY_UPDATE is a session request (SessionRequired)`,
    'KEY_UPDATE in the clear is SessionRequired',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
      requires(has(c, SPDM_CAP.KEY_UPD_CAP), 'the responder does not claim KEY_UPD_CAP');
      await c.session();
      expectError(
        await c.raw(spdm(c.version, SPDM_KEY_UPDATE, 1, 1)),
        sessionRequired(c.version),
        'in the clear',
      );
    },
  ),
  spdmCase(
    'session.psk-finish-in-clear',
    `${DSP0274} PSK_FINISH is a session request (SessionRequired)`,
    'PSK_FINISH in the clear is SessionRequired',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      requires((c.peerFlags & PSK_CAP) !== 0, 'the responder does not claim PSK_CAP');
      const h = c.requester.negotiated!.sizes.hashSize;
      expectError(
        await c.raw(spdm(c.version, SPDM_PSK_FINISH, 0, 0, new Uint8Array(h))),
        sessionRequired(c.version),
        'with no session',
      );
    },
  ),
];

/** The heartbeat period of a fresh session, skipping when waiting for it is too long. */
async function heartbeatSession(ctx: CaseContext, o: { quick?: boolean } = {}) {
  const c = await ctx.open(o.quick ? { timeoutMs: ctx.target.silenceMs, retries: 0 } : {});
  await c.vca();
  requires(has(c, SPDM_CAP.KEY_EX_CAP), 'the responder does not claim KEY_EX_CAP');
  requires(has(c, SPDM_CAP.HBEAT_CAP), 'the responder does not claim HBEAT_CAP');
  const s = await c.session();
  const period = s.heartbeatPeriod;
  requires(period > 0, 'HeartbeatPeriod 0: the responder expects no heartbeat');
  const wait = 2 * period * 1000;
  const max = ctx.target.maxWaitMs ?? 5000;
  requires(
    wait + 500 <= max,
    `twice the HeartbeatPeriod (${period} s) is longer than the suite may wait (${max} ms); the responder picks the period`,
  );
  return { c, s, wait };
}

const heartbeatCases: ConformanceCase[] = [
  spdmCase(
    'session.heartbeat.keeps-session',
    `${DSP0274} §10.20 HEARTBEAT: a heartbeat within the period keeps the session`,
    'HEARTBEATs every half period keep the session past twice the HeartbeatPeriod',
    async (ctx) => {
      const { c, s, wait } = await heartbeatSession(ctx);
      const started = Date.now();
      while (Date.now() - started < wait + 300) {
        await sleep(wait / 4);
        await c.requester.heartbeat(s);
      }
    },
  ),
  spdmCase(
    'session.heartbeat.expires',
    `${DSP0274} §10.20 HEARTBEAT: no message for twice the HeartbeatPeriod ends the session`,
    'after twice the HeartbeatPeriod without a message the session is over: HEARTBEAT is not acknowledged',
    async (ctx) => {
      const { c, s, wait } = await heartbeatSession(ctx, { quick: true });
      await sleep(wait + 300);
      let answer: string;
      try {
        await c.requester.heartbeat(s);
        answer = 'HEARTBEAT_ACK';
      } catch (e) {
        if (
          e instanceof TransportError ||
          e instanceof SpdmErrorResponse ||
          e instanceof SpdmVerifyError
        ) {
          return;
        }
        throw e;
      }
      check(false, 'no HEARTBEAT_ACK in the expired session', answer);
    },
  ),
];

export const SPDM_SESSION_CASES: ConformanceCase[] = [
  ...clearHandshakeCases,
  ...handshakePhaseCases,
  ...crossKindCases,
  ...sessionRequiredCases,
  ...heartbeatCases,
];
