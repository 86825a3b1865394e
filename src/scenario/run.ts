/**
 * Running a scenario: each step through the world's operation of that name, its result
 * checked against the step's expectations, and every invariant of SYSTEM.md section 5
 * checked after it. A step that breaks an invariant it did not announce (`violates`) fails,
 * and so does one that announced a break that did not happen.
 */
import {
  checkInvariants,
  INVARIANTS,
  type Invariant,
  type InvariantView,
  type Violation,
} from '../world/invariants.ts';
import type { Trace } from '../world/trace.ts';
import type { StepResult } from '../world/world.ts';
import type { Scenario, ScenarioStep } from './schema.ts';

/** The world as a scenario drives it (world/world.ts World is one). */
export interface ScenarioWorld {
  readonly operations: ReadonlySet<string>;
  perform(step: ScenarioStep): Promise<StepResult>;
  /** The device's own state of the TDI the step concerns. */
  tdiState(step: ScenarioStep): string | undefined;
  /** The live records (for the invariants after a step). */
  view(): InvariantView;
  /** A deep copy of the records (for the invariants that compare with before). */
  frozenView(): InvariantView;
  readonly trace: Trace;
}

export interface StepReport {
  index: number;
  step: ScenarioStep;
  result: StepResult;
  tdiState?: string;
  violations: Violation[];
  /** What did not come as the step expected; empty when it held. */
  problems: string[];
}

export interface ScenarioReport {
  name: string;
  ok: boolean;
  steps: StepReport[];
  /** Invariant checks made (invariants x steps). */
  checks: number;
}

/** The expectation problems of one step (empty: it held). */
export function expectationProblems(
  step: ScenarioStep,
  r: StepResult,
  tdiState: string | undefined,
  violations: Violation[],
): string[] {
  const e = step.expect ?? {};
  const out: string[] = [];
  const wantOk = e.ok ?? e.errno === undefined;
  const got = r.ok ? 'ok' : `${r.errno ?? 'failed'}${r.detail ? ` (${r.detail})` : ''}`;
  if (r.ok !== wantOk) out.push(`expected ${wantOk ? 'ok' : 'a refusal'}, got ${got}`);
  if (e.errno !== undefined && r.errno !== e.errno) out.push(`expected ${e.errno}, got ${got}`);
  if (e.reason !== undefined && !`${r.errno ?? ''} ${r.detail ?? ''}`.includes(e.reason)) {
    out.push(`expected a reason containing '${e.reason}', got ${got}`);
  }
  if (e.tdi !== undefined && tdiState !== e.tdi) {
    out.push(`expected the TDI in ${e.tdi}, it is ${tdiState ?? 'absent'}`);
  }
  const broken = new Set(violations.map((v) => v.invariant));
  for (const id of e.violates ?? []) {
    if (!broken.has(id)) out.push(`expected invariant ${id} to break; it held`);
  }
  for (const v of violations) {
    if (!(e.violates ?? []).includes(v.invariant)) {
      out.push(`invariant ${v.invariant} ${v.name} broke (${v.component}): ${v.detail}`);
    }
  }
  return out;
}

/**
 * Runs every step in order, even after one fails (the report shows all of them).
 * @param onStep sees each step's report as it is made (the CLI prints as it goes)
 * @param invariants the predicates checked after each step (default: SYSTEM.md section 5's)
 */
export async function runScenario(
  s: Scenario,
  world: ScenarioWorld,
  onStep?: (r: StepReport) => void,
  invariants: readonly Invariant[] = INVARIANTS,
): Promise<ScenarioReport> {
  const steps: StepReport[] = [];
  let checks = 0;
  // A broken record stays broken: a violation is reported at the step that caused it.
  let standing = new Set<string>();
  const key = (v: Violation) => `${v.invariant} ${v.component} ${v.detail}`;
  for (const [index, step] of s.steps.entries()) {
    world.trace.step(
      `${step.do}${step.vm ? ` ${step.vm}` : ''}${step.note ? `: ${step.note}` : ''}`,
    );
    const before = world.frozenView();
    const result = await world.perform(step);
    const tdiState = world.tdiState(step);
    const all = checkInvariants(world.view(), result.events, before, invariants);
    const violations = all.filter((v) => !standing.has(key(v)));
    standing = new Set(all.map(key));
    checks += 1;
    for (const v of violations) world.trace.violation(v, index);
    const problems = expectationProblems(step, result, tdiState, violations);
    world.trace.check(
      `step ${index + 1} ${step.do} as expected`,
      problems.length === 0,
      problems.join('; '),
    );
    const r: StepReport = { index, step, result, tdiState, violations, problems };
    steps.push(r);
    onStep?.(r);
  }
  return { name: s.name, ok: steps.every((r) => r.problems.length === 0), steps, checks };
}
