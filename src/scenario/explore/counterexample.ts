/**
 * A counterexample as a scenario file (docs/scenarios.md) that `teeio run` replays: the
 * explored world's section, and each step with what it came to (refusals as expected
 * refusals, the break as `violates`), so the replay passes exactly when the model still
 * breaks the invariant the same way.
 */
import { stringify } from 'yaml';
import type { Violation } from '../../world/invariants.ts';
import type { WorldStep } from '../../world/world.ts';
import { SCENARIO_FORMAT, type Scenario } from '../schema.ts';
import type { Stepped } from './stepper.ts';

const ERRNO = /^E[A-Z0-9]+$/;

export function counterexampleScenario(
  world: Scenario['world'],
  violation: Violation,
  path: readonly WorldStep[],
  outcomes: readonly Stepped[],
): Scenario {
  const steps = path.map((s, i) => {
    const o = outcomes[i];
    const expect: NonNullable<Scenario['steps'][number]['expect']> = {};
    if (!o.answer.ok) {
      expect.ok = false;
      if (o.answer.errno !== undefined) {
        if (ERRNO.test(o.answer.errno)) expect.errno = o.answer.errno;
        else expect.reason = o.answer.errno;
      }
    }
    const broken = [...new Set(o.fresh.map((v) => v.invariant))].sort();
    if (broken.length > 0) expect.violates = broken;
    return {
      do: s.do,
      ...(s.vm !== undefined ? { vm: s.vm } : {}),
      ...(s.tdi !== undefined ? { tdi: s.tdi } : {}),
      ...(s.args !== undefined ? { args: s.args } : {}),
      ...(Object.keys(expect).length > 0 ? { expect } : {}),
    };
  });
  return {
    teeio: SCENARIO_FORMAT,
    name: `${violation.invariant} ${violation.name} broken`,
    description: `Found by teeio explore and shrunk to ${path.length} steps: ${violation.component}: ${violation.detail}`,
    world,
    steps,
  };
}

export function scenarioYaml(s: Scenario): string {
  return stringify(s, { lineWidth: 100 });
}
