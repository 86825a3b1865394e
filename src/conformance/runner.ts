/**
 * Runs cases one after the other, each on its own connections (closed when it ends), and
 * turns what it threw into an outcome. Without trust anchors the root the responder
 * presents is trusted (first use): the suite checks behaviour, not provenance. A case that
 * leaves the responder unreachable fails, and every case after it is skipped saying so.
 */
import { SpdmErrorResponse, SpdmUsageError, SpdmVerifyError } from '../spdm/requester/index.ts';
import { connectSpdmEmu } from '../transport/spdm-emu-client.ts';
import { TransportError } from '../transport/types.ts';
import { WireError } from '../wire/errors.ts';
import { SPDM_GET_CERTIFICATE, SPDM_GET_DIGESTS } from '../wire/spdm/constants.ts';
import {
  CaseFailure,
  type CaseResult,
  CaseSkip,
  type ConformanceCase,
  type Outcome,
} from './case.ts';
import { ALL_CASES } from './cases/index.ts';
import { CaseContext, type Target } from './context.ts';
import { Bytes, hex, spdm, u16At } from './messages.ts';
import { applyProfile, type Profile } from './profiles/index.ts';

export interface RunOptions {
  /** Glob patterns (`*` any run of characters), comma-separated; a bare prefix matches its group. */
  only?: string;
  /** Called as each case ends (progress output). */
  onResult?: (r: CaseResult) => void;
  /** Longest a case may run (default 60 s). */
  caseTimeoutMs?: number;
  /** Known deviations of the responder: listed failures become expected deviations. */
  profile?: Profile;
}

/** Does `id` match one of the comma-separated patterns? */
export function matchesOnly(id: string, only: string | undefined): boolean {
  if (!only) return true;
  return only
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .some((p) => {
      if (!p.includes('*')) return id === p || id.startsWith(`${p}.`);
      const re = new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      return re.test(id);
    });
}

export function selectCases(
  only?: string,
  cases: readonly ConformanceCase[] = ALL_CASES,
): ConformanceCase[] {
  return cases.filter((c) => matchesOnly(c.id, only));
}

function outcomeOf(e: unknown): Outcome {
  if (e instanceof CaseSkip) return { status: 'skip', why: e.why };
  if (e instanceof CaseFailure) {
    return {
      status: 'fail',
      expected: e.expected,
      got: e.got,
      ...(e.bytes ? { bytes: hex(e.bytes, 256) } : {}),
    };
  }
  if (e instanceof SpdmErrorResponse)
    return { status: 'fail', expected: 'a successful response', got: e.message };
  if (e instanceof SpdmVerifyError)
    return { status: 'fail', expected: 'a response that verifies', got: e.message };
  if (e instanceof TransportError)
    return { status: 'fail', expected: 'the responder to answer', got: e.message };
  if (e instanceof WireError)
    return { status: 'fail', expected: 'a well-formed response', got: e.message };
  if (e instanceof SpdmUsageError)
    return { status: 'fail', expected: 'what the case needs of the connection', got: e.message };
  return {
    status: 'fail',
    expected: 'the case to complete',
    got: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
  };
}

async function reachable(t: Target): Promise<boolean> {
  try {
    const c = await connectSpdmEmu({
      host: t.host,
      port: t.port,
      transportType: t.binding,
      timeoutMs: t.timeoutMs,
    });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** The first DER certificate of an SPDM chain buffer (after the 4-byte header and RootHash). */
function firstCertificate(chain: Uint8Array, hashSize: number): Uint8Array | undefined {
  let o = 4 + hashSize;
  if (chain[o] !== 0x30) return undefined;
  const l = chain[o + 1];
  let len = l;
  let hdr = 2;
  if (l & 0x80) {
    const n = l & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + chain[o + 2 + i];
    hdr = 2 + n;
  }
  const end = o + hdr + len;
  if (end > chain.length) return undefined;
  o = end;
  return chain.slice(4 + hashSize, end);
}

/**
 * The root certificate the responder presents in slot 0 (read with GET_CERTIFICATE,
 * unverified), or undefined when it has none.
 */
export async function presentedRoot(t: Target): Promise<Uint8Array | undefined> {
  const ctx = new CaseContext(t);
  try {
    const c = await ctx.open();
    await c.vca();
    if ((c.peerFlags & 0x2) === 0) return undefined;
    await c.raw(spdm(c.version, SPDM_GET_DIGESTS));
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (let i = 0; i < 256; i++) {
      const rsp = await c.raw(
        spdm(c.version, SPDM_GET_CERTIFICATE, 0, 0, new Bytes().u16(offset).u16(0x400).finish()),
      );
      if (rsp[1] !== 0x02) return undefined;
      const portion = u16At(rsp, 4);
      parts.push(rsp.slice(8, 8 + portion));
      offset += portion;
      if (u16At(rsp, 6) === 0 || portion === 0) break;
    }
    return firstCertificate(Buffer.concat(parts), c.requester.negotiated!.sizes.hashSize);
  } catch {
    return undefined;
  } finally {
    await ctx.closeAll();
  }
}

/** Runs the selected cases against `target`, in order. */
export async function runConformance(target: Target, o: RunOptions = {}): Promise<CaseResult[]> {
  const cases = selectCases(o.only);
  const t: Target = { ...target };
  if (t.trust.length === 0) {
    const root = await presentedRoot(t);
    if (root) t.trust = [root];
  }
  const results: CaseResult[] = [];
  let deadAfter: string | undefined;
  for (const c of cases) {
    const started = Date.now();
    let outcome: Outcome;
    if (deadAfter) {
      outcome = { status: 'skip', why: `the responder stopped answering after ${deadAfter}` };
    } else {
      const ctx = new CaseContext(t);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.run(ctx),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new CaseFailure(
                    'the case to end',
                    `no end within ${o.caseTimeoutMs ?? 60_000} ms`,
                  ),
                ),
              o.caseTimeoutMs ?? 60_000,
            );
          }),
        ]);
        outcome = { status: 'pass' };
      } catch (e) {
        outcome = outcomeOf(e);
      } finally {
        clearTimeout(timer);
        await ctx.closeAll();
      }
      if (outcome.status === 'fail' && !(await reachable(t))) {
        deadAfter = c.id;
        outcome = {
          ...outcome,
          got: `${outcome.got}; the responder no longer accepts connections`,
        };
      }
    }
    const raw: CaseResult = {
      id: c.id,
      group: c.group,
      rule: c.rule,
      title: c.title,
      outcome,
      ms: Date.now() - started,
    };
    const r = o.profile ? applyProfile(o.profile, raw) : raw;
    results.push(r);
    o.onResult?.(r);
  }
  return results;
}
