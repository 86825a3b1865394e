/**
 * The conformance case framework: a case names the rule it checks (spec and section or
 * table), runs against a fresh connection to the responder under test, and ends as pass,
 * fail (what the rule expects, what came back, the bytes) or skip (why the case does not
 * apply, e.g. a capability the responder does not claim). A case fails or skips by
 * throwing CaseFailure / CaseSkip from its checks; any other exception is a failure too
 * (the responder hung up, a response did not verify).
 */
import type { CaseContext } from './context.ts';

export type Group = 'spdm' | 'ide-km' | 'tdisp' | 'robustness';

export interface ConformanceCase {
  /** Stable dotted id, e.g. `tdisp.version.keeps-locked`: what --only matches. */
  id: string;
  group: Group;
  /** The rule checked: spec, version, section or table. */
  rule: string;
  /** One line: what a conforming responder does. */
  title: string;
  run(ctx: CaseContext): Promise<void>;
}

/**
 * How a case ended. 'deviation' exists only under a profile (--profile): the case failed
 * the way the profile says this responder is known to (`deviation` says how).
 */
export type Outcome =
  | { status: 'pass' }
  | { status: 'fail'; expected: string; got: string; bytes?: string }
  | { status: 'skip'; why: string }
  | { status: 'deviation'; deviation: string; expected: string; got: string; bytes?: string };

export interface CaseResult {
  id: string;
  group: Group;
  rule: string;
  title: string;
  outcome: Outcome;
  ms: number;
  /** Under a profile: the case passed although the profile lists a deviation for it. */
  deviationNotSeen?: string;
}

/** The responder broke the case's rule. */
export class CaseFailure extends Error {
  override readonly name = 'CaseFailure';
  constructor(
    readonly expected: string,
    readonly got: string,
    readonly bytes?: Uint8Array,
  ) {
    super(`expected ${expected}, got ${got}`);
  }
}

/** The case does not apply to this responder. */
export class CaseSkip extends Error {
  override readonly name = 'CaseSkip';
  constructor(readonly why: string) {
    super(why);
  }
}

/** Fails the case unless `ok`. */
export function check(ok: boolean, expected: string, got: string, bytes?: Uint8Array): void {
  if (!ok) throw new CaseFailure(expected, got, bytes);
}

/** Skips the case unless `ok`. */
export function requires(ok: boolean, why: string): void {
  if (!ok) throw new CaseSkip(why);
}
