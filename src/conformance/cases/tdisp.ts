/**
 * TDISP cases (PCIe 6.x chapter 11, 11.3 messages, 11.2 TDI states): version and
 * capabilities, LOCK without IDE keys and with keys of another session, the report in
 * portions and its MMIO_REPORTING_OFFSET, START with a wrong nonce, header errors, TDISP
 * outside a secured session, requests illegal in each state (INVALID_INTERFACE_STATE and
 * no state change), ERROR triggers a remote requester can cause (K_SET_STOP of the bound
 * stream, the end of the locking session), ERROR-state behaviour and STOP from each state.
 * Each case starts from a fresh session with the stream keyed and the TDI stopped.
 */
import { randomBytes } from 'node:crypto';
import { bytesEqual } from '../../wire/hex.ts';
import { type ConformanceCase, check, requires } from '../case.ts';
import { type CaseContext, describeAnswer, reportRanges, TdispOps } from '../context.ts';
import {
  describeTdisp,
  keySubStream,
  streamSlots,
  tdiStateName,
  tdispRequest,
  u32At,
} from '../messages.ts';

const T = 'PCIe 6.x §11.3';
const UNLOCKED = 0;
const LOCKED = 1;
const RUN = 2;
const ERROR = 3;

function tdispCase(
  id: string,
  rule: string,
  title: string,
  run: (ctx: CaseContext) => Promise<void>,
): ConformanceCase {
  return { id: `tdisp.${id}`, group: 'tdisp', rule, title, run };
}

/** Fails unless `m` is TDISP_ERROR with `code`. */
function expectTdispError(m: Uint8Array, code: number, name: string, what: string): void {
  check(m[1] === 0x7f && u32At(m, 16) === code, `TDISP_ERROR ${name} ${what}`, describeTdisp(m), m);
}

function expectCode(m: Uint8Array, code: number, name: string): void {
  check(m[1] === code, name, describeTdisp(m), m);
}

/** REQ_MSGS_SUPPORTED of TDISP_CAPABILITIES: is request `code` answered? */
async function supports(t: TdispOps, code: number): Promise<boolean> {
  const m = await t.send(0x82, Uint8Array.of(0, 0, 0, 0));
  if (m[1] !== 0x02 || m.length < 36) return true;
  const bit = code - 0x80;
  return ((m[20 + (bit >> 3)] >> (bit & 7)) & 1) === 1;
}

async function lockedWith(ctx: CaseContext) {
  const r = await ctx.tdisp();
  const nonce = await r.tdisp.mustLock();
  return { ...r, nonce };
}

/** Puts the TDI in ERROR by K_SET_STOP of its bound stream in RUN; skips when it does not get there. */
async function inError(ctx: CaseContext) {
  const r = await ctx.running();
  const slot = streamSlots(0)[0];
  await r.ide.kSet(false, ctx.target.streamId, slot);
  const s = await r.tdisp.state();
  requires(
    s === ERROR,
    `the TDI did not enter ERROR (it is ${tdiStateName(s)}; see tdisp.error.k-set-stop-in-run)`,
  );
  return r;
}

type StateName = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'RUN' | 'ERROR';
const STATE_NUMBER: Record<StateName, number> = {
  CONFIG_UNLOCKED: 0,
  CONFIG_LOCKED: 1,
  RUN: 2,
  ERROR: 3,
};

async function reach(ctx: CaseContext, state: StateName) {
  if (state === 'CONFIG_UNLOCKED') return ctx.tdisp();
  if (state === 'CONFIG_LOCKED') return lockedWith(ctx);
  if (state === 'RUN') return ctx.running();
  return inError(ctx);
}

/** Requests illegal in a state (PCIe 6.x Table "TDISP Request Codes", legal states column). */
const ILLEGAL: {
  name: string;
  code: number;
  body: (t: TdispOps) => Uint8Array;
  states: StateName[];
}[] = [
  {
    name: 'LOCK_INTERFACE_REQUEST',
    code: 0x83,
    body: (t) => t.lockBody(),
    states: ['CONFIG_LOCKED', 'RUN', 'ERROR'],
  },
  {
    name: 'GET_DEVICE_INTERFACE_REPORT',
    code: 0x84,
    body: () => Uint8Array.of(0, 0, 0x40, 0),
    states: ['CONFIG_UNLOCKED', 'ERROR'],
  },
  {
    name: 'START_INTERFACE_REQUEST',
    code: 0x86,
    body: () => new Uint8Array(32),
    states: ['CONFIG_UNLOCKED', 'RUN', 'ERROR'],
  },
  {
    name: 'BIND_P2P_STREAM_REQUEST',
    code: 0x88,
    body: () => Uint8Array.of(1),
    states: ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'ERROR'],
  },
  {
    name: 'UNBIND_P2P_STREAM_REQUEST',
    code: 0x89,
    body: () => Uint8Array.of(1),
    states: ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'ERROR'],
  },
  {
    name: 'SET_MMIO_ATTRIBUTE_REQUEST',
    code: 0x8a,
    body: () => new Uint8Array(16),
    states: ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'ERROR'],
  },
];

const legalityCases: ConformanceCase[] = ILLEGAL.flatMap((r) =>
  r.states.map((state) =>
    tdispCase(
      `legality.${r.name.toLowerCase().replace(/_/g, '-')}.${state.toLowerCase().replace(/_/g, '-')}`,
      `${T} Table "TDISP Request Codes" (legal TDI states)`,
      `${r.name} in ${state} is INVALID_INTERFACE_STATE and changes nothing`,
      async (ctx) => {
        const { tdisp } = await reach(ctx, state);
        requires(await supports(tdisp, r.code), `${r.name} is not in REQ_MSGS_SUPPORTED`);
        const m = await tdisp.send(r.code, r.body(tdisp));
        expectTdispError(m, 0x04, 'INVALID_INTERFACE_STATE', `in ${state}`);
        await tdisp.expectState(STATE_NUMBER[state], `after the refused ${r.name}`);
      },
    ),
  ),
);

const stopCases: ConformanceCase[] = (
  ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'RUN', 'ERROR'] as const
).map((state) =>
  tdispCase(
    `stop.from-${state.toLowerCase().replace(/_/g, '-')}`,
    `${T}.16 STOP_INTERFACE_REQUEST`,
    `STOP_INTERFACE_REQUEST in ${state} is answered and leaves CONFIG_UNLOCKED`,
    async (ctx) => {
      const { tdisp } = await reach(ctx, state);
      expectCode(await tdisp.stop(), 0x07, 'STOP_INTERFACE_RESPONSE');
      await tdisp.expectState(UNLOCKED, 'after STOP');
    },
  ),
);

export const TDISP_CASES: ConformanceCase[] = [
  tdispCase(
    'version',
    `${T} GET_TDISP_VERSION / TDISP_VERSION`,
    'TDISP_VERSION lists 1.0',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      const m = await tdisp.send(0x81);
      expectCode(m, 0x01, 'TDISP_VERSION');
      const n = m[16] ?? 0;
      check(
        [...m.slice(17, 17 + n)].includes(0x10),
        'version 0x10 listed',
        `versions ${[...m.slice(17, 17 + n)].map((v) => v.toString(16))}`,
        m,
      );
    },
  ),
  tdispCase(
    'capabilities',
    `${T} GET_TDISP_CAPABILITIES / TDISP_CAPABILITIES`,
    'TDISP_CAPABILITIES claims the requests every TDI needs (0x81-0x87)',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      for (const code of [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87]) {
        check(
          await supports(tdisp, code),
          `request 0x${code.toString(16)} in REQ_MSGS_SUPPORTED`,
          'missing',
        );
      }
    },
  ),
  tdispCase(
    'outside-session',
    `${T}: TDISP messages are secured SPDM messages (§11.3.1)`,
    'GET_TDISP_VERSION in the clear is not answered with TDISP_VERSION',
    async (ctx) => {
      const tdi = ctx.tdi;
      const c = await ctx.open();
      await c.vca();
      const a = await c.pciSig(1, tdispRequest(0x81, tdi), 'clear');
      check(
        a.kind !== 'message',
        'no answer or an SPDM ERROR',
        describeAnswer(a, 'TDISP'),
        'bytes' in a ? a.bytes : undefined,
      );
    },
  ),
  tdispCase(
    'lock.without-ide-keys',
    `${T}.8 LOCK_INTERFACE_REQUEST: the default stream must be keyed`,
    'LOCK before any IDE key is programmed is refused and the TDI stays CONFIG_UNLOCKED',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      const m = await tdisp.lock();
      check(m[1] === 0x7f, 'TDISP_ERROR', describeTdisp(m), m);
      await tdisp.expectState(UNLOCKED, 'after the refused LOCK');
    },
  ),
  tdispCase(
    'lock.keys-of-another-session',
    `${T}.8 LOCK_INTERFACE_REQUEST: keys programmed on the same session`,
    'LOCK in a session other than the one that keyed the stream is refused',
    async (ctx) => {
      await ctx.tdisp(); // keyed on this connection's session, which stays open
      const other = await ctx.open();
      await other.session();
      const t2 = new TdispOps(other, ctx.tdi);
      const m = await t2.lock();
      check(m[1] === 0x7f, 'TDISP_ERROR', describeTdisp(m), m);
      await t2.expectState(UNLOCKED, 'after the refused LOCK');
    },
  ),
  tdispCase(
    'lock.ok',
    `${T}.8 / §11.3.9 LOCK_INTERFACE_RESPONSE`,
    'LOCK with the stream keyed returns a 32-byte nonce and moves to CONFIG_LOCKED',
    async (ctx) => {
      const { tdisp } = await lockedWith(ctx);
      await tdisp.expectState(LOCKED, 'after LOCK');
    },
  ),
  tdispCase(
    'lock.unsupported-flags',
    `${T}.8 LOCK_INTERFACE_REQUEST Flags vs LOCK_INTERFACE_FLAGS_SUPPORTED`,
    'LOCK with flags the DSM does not support is INVALID_REQUEST',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp();
      const caps = await tdisp.send(0x82, Uint8Array.of(0, 0, 0, 0));
      const supported = caps[36] | (caps[37] << 8);
      const unsupported = ~supported & 0x1f;
      requires(unsupported !== 0, 'every TDISP 1.0 flag is supported');
      expectTdispError(
        await tdisp.lock({ flags: unsupported }),
        0x01,
        'INVALID_REQUEST',
        `for flags 0x${unsupported.toString(16)}`,
      );
      await tdisp.expectState(UNLOCKED, 'after the refused LOCK');
    },
  ),
  tdispCase(
    'version.keeps-locked',
    `${T}.4 GET_TDISP_VERSION is legal in every state and changes none`,
    'GET_TDISP_VERSION in CONFIG_LOCKED leaves the TDI CONFIG_LOCKED',
    async (ctx) => {
      const { tdisp } = await lockedWith(ctx);
      expectCode(await tdisp.send(0x81), 0x01, 'TDISP_VERSION');
      await tdisp.expectState(LOCKED, 'after GET_TDISP_VERSION');
    },
  ),
  tdispCase(
    'capabilities.keeps-locked',
    `${T}.6 GET_TDISP_CAPABILITIES changes no state`,
    'GET_TDISP_CAPABILITIES in CONFIG_LOCKED leaves the TDI CONFIG_LOCKED',
    async (ctx) => {
      const { tdisp } = await lockedWith(ctx);
      expectCode(await tdisp.send(0x82, Uint8Array.of(0, 0, 0, 0)), 0x02, 'TDISP_CAPABILITIES');
      await tdisp.expectState(LOCKED, 'after GET_TDISP_CAPABILITIES');
    },
  ),
  tdispCase(
    'report.unlocked',
    `${T}.10 GET_DEVICE_INTERFACE_REPORT legal in CONFIG_LOCKED and RUN`,
    'GET_DEVICE_INTERFACE_REPORT in CONFIG_UNLOCKED is INVALID_INTERFACE_STATE',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      expectTdispError(
        await tdisp.report(0, 0x40),
        0x04,
        'INVALID_INTERFACE_STATE',
        'in CONFIG_UNLOCKED',
      );
    },
  ),
  tdispCase(
    'report.portions',
    `${T}.10 / §11.3.11 report portions`,
    'the report read in 16-byte portions equals the report read in large ones, RemainderLength counting down',
    async (ctx) => {
      const { tdisp } = await lockedWith(ctx);
      const whole = await tdisp.fullReport(0x400);
      const small = await tdisp.fullReport(16);
      check(
        bytesEqual(whole, small),
        'the same report',
        `${whole.length} vs ${small.length} bytes, differing`,
        small,
      );
      const ranges = reportRanges(whole);
      check(
        whole.length >= 20 + 16 * ranges.length,
        'a report holding its MMIO ranges',
        `${whole.length} bytes for ${ranges.length} ranges`,
        whole,
      );
    },
  ),
  tdispCase(
    'report.offset-beyond',
    `${T}.10 GET_DEVICE_INTERFACE_REPORT Offset`,
    'an Offset beyond the report is INVALID_REQUEST',
    async (ctx) => {
      const { tdisp } = await lockedWith(ctx);
      const whole = await tdisp.fullReport();
      expectTdispError(
        await tdisp.report(whole.length + 16, 16),
        0x01,
        'INVALID_REQUEST',
        `for Offset ${whole.length + 16} of a ${whole.length}-byte report`,
      );
    },
  ),
  tdispCase(
    'report.mmio-reporting-offset',
    `${T}.8 MMIO_REPORTING_OFFSET; §11.3.11 MMIO range FirstPage`,
    "each range's FirstPage moves by MMIO_REPORTING_OFFSET / 4 KiB",
    async (ctx) => {
      const { tdisp } = await lockedWith(ctx);
      const base = reportRanges(await tdisp.fullReport());
      requires(base.length > 0, 'the report has no MMIO ranges');
      expectCode(await tdisp.stop(), 0x07, 'STOP_INTERFACE_RESPONSE');
      const offset = 0x10_0000_0000n;
      await tdisp.mustLock({ mmioReportingOffset: offset });
      const moved = reportRanges(await tdisp.fullReport());
      check(moved.length === base.length, `${base.length} ranges`, String(moved.length));
      base.forEach((r, i) => {
        const want = (r.firstPage + (offset >> 12n)) & 0xffff_ffff_ffff_ffffn;
        check(
          moved[i].firstPage === want,
          `range ${i} FirstPage 0x${want.toString(16)}`,
          `0x${moved[i].firstPage.toString(16)}`,
        );
      });
    },
  ),
  tdispCase(
    'start.wrong-nonce',
    `${T}.12 START_INTERFACE_REQUEST nonce`,
    "START with a nonce other than LOCK's is INVALID_NONCE and does not reach RUN",
    async (ctx) => {
      const { tdisp, nonce } = await lockedWith(ctx);
      const wrong = randomBytes(32);
      wrong[0] = nonce[0] ^ 0xff;
      expectTdispError(await tdisp.start(wrong), 0x102, 'INVALID_NONCE', 'for a wrong nonce');
      const s = await tdisp.state();
      check(s !== RUN, 'not RUN', tdiStateName(s));
    },
  ),
  tdispCase(
    'start.ok',
    `${T}.12 / §11.3.13 START_INTERFACE`,
    "START with LOCK's nonce moves to RUN",
    async (ctx) => {
      const { tdisp } = await ctx.running();
      await tdisp.expectState(RUN, 'after START');
    },
  ),
  tdispCase(
    'interface.unknown',
    `${T} TDISP_ERROR INVALID_INTERFACE`,
    'a request for an InterfaceID that is no TDI is INVALID_INTERFACE',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      const bogus = { requesterId: ctx.tdi.requesterId ^ 0xff00, segment: 0, segmentValid: false };
      expectTdispError(
        await tdisp.send(0x85, undefined, { tdi: bogus }),
        0x101,
        'INVALID_INTERFACE',
        `for requester id 0x${bogus.requesterId.toString(16)}`,
      );
    },
  ),
  tdispCase(
    'header.version-mismatch',
    `${T} TDISP_ERROR VERSION_MISMATCH`,
    'a request with TDISPVersion 0x20 is VERSION_MISMATCH',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      expectTdispError(
        await tdisp.send(0x85, undefined, { version: 0x20 }),
        0x41,
        'VERSION_MISMATCH',
        'for version 0x20',
      );
    },
  ),
  tdispCase(
    'header.unknown-message',
    `${T} TDISP_ERROR UNSUPPORTED_REQUEST`,
    'an undefined MessageType is UNSUPPORTED_REQUEST naming it',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp({ keys: false });
      const m = await tdisp.send(0xf0);
      expectTdispError(m, 0x07, 'UNSUPPORTED_REQUEST', 'for MessageType 0xF0');
      check(u32At(m, 20) === 0xf0, 'ErrorData 0xF0', `0x${u32At(m, 20).toString(16)}`, m);
    },
  ),
  tdispCase(
    'lock.truncated',
    `${T}.8 LOCK_INTERFACE_REQUEST length; TDISP_ERROR INVALID_REQUEST`,
    'a LOCK_INTERFACE_REQUEST 8 bytes short is INVALID_REQUEST and locks nothing',
    async (ctx) => {
      const { tdisp } = await ctx.tdisp();
      const m = await tdisp.send(0x83, tdisp.lockBody().slice(0, 12));
      expectTdispError(m, 0x01, 'INVALID_REQUEST', 'for a short LOCK');
      await tdisp.expectState(UNLOCKED, 'after the refused LOCK');
    },
  ),
  tdispCase(
    'error.k-set-stop-in-run',
    `PCIe 6.x §11.2.6 / §11.4.5: the bound IDE stream leaving Secure is an ERROR trigger`,
    'K_SET_STOP of the bound stream in RUN moves the TDI to ERROR',
    async (ctx) => {
      const { tdisp, ide } = await ctx.running();
      const slot = streamSlots(0)[0];
      const ack = await ide.kSet(false, ctx.target.streamId, slot);
      check(
        ack[0] === 0x06 && ack[5] === keySubStream(slot),
        'K_GOSTOP_ACK',
        `object ${ack[0]}`,
        ack,
      );
      await tdisp.expectState(ERROR, 'after K_SET_STOP of the bound stream');
    },
  ),
  tdispCase(
    'error.locking-session-ended',
    `PCIe 6.x §11.4.5: the end of the SPDM session a TDI was locked on is an ERROR trigger`,
    'after the locking session ends, the TDI is in ERROR',
    async (ctx) => {
      const { conn } = await lockedWith(ctx);
      await conn.close();
      const c = await ctx.open();
      await c.session();
      const tdisp = new TdispOps(c, ctx.tdi);
      await tdisp.expectState(ERROR, 'after the locking session ended');
    },
  ),
  tdispCase(
    'error.report-and-start-refused',
    `PCIe 6.x §11.2 ERROR state: only STOP leaves it`,
    'in ERROR, START and GET_DEVICE_INTERFACE_REPORT are refused and the TDI stays in ERROR',
    async (ctx) => {
      const { tdisp } = await inError(ctx);
      check(
        (await tdisp.start(new Uint8Array(32)))[1] === 0x7f,
        'TDISP_ERROR for START',
        'a response',
      );
      check(
        (await tdisp.report(0, 16))[1] === 0x7f,
        'TDISP_ERROR for GET_DEVICE_INTERFACE_REPORT',
        'a response',
      );
      await tdisp.expectState(ERROR, 'after the refused requests');
    },
  ),
  ...stopCases,
  ...legalityCases,
];
