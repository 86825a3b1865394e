/**
 * Loading a scenario file: YAML against the schema (schema.ts), then what the schema cannot
 * know: every step's operation exists, every VM a step names is declared, every TDI a VM gets
 * is on the device. Each error names file, line, column and field (wire/yaml-config.ts).
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  type ConfigProblem,
  configPosition,
  decodeYamlConfig,
} from '../wire/yaml-config.ts';
import { type Scenario, scenarioSchema } from './schema.ts';

/** What the world offers a scenario: its operations by name. */
export interface ScenarioCatalogue {
  operations: ReadonlySet<string>;
}

/**
 * A scenario from its text.
 * @param source the file name errors carry
 * @throws ConfigError for YAML syntax, a field the schema refuses, an unknown operation, a
 *   step naming an undeclared VM
 */
export function parseScenario(text: string, source: string, cat: ScenarioCatalogue): Scenario {
  const s = decodeYamlConfig(text, scenarioSchema, source);
  const problems: ConfigProblem[] = [];
  const at = (path: (string | number)[], message: string) =>
    problems.push({ path, ...configPosition(text, path), message });
  const vms = new Set((s.world.vms ?? []).map((v) => v.name));
  (s.world.vms ?? []).forEach((v, i) => {
    if ((s.world.vms ?? []).findIndex((x) => x.name === v.name) !== i) {
      at(['world', 'vms', i, 'name'], `VM '${v.name}' is declared twice`);
    }
  });
  s.steps.forEach((step, i) => {
    if (!cat.operations.has(step.do)) {
      const near = [...cat.operations].filter((o) => o.split('.')[0] === step.do.split('.')[0]);
      at(
        ['steps', i, 'do'],
        `unknown operation '${step.do}'${near.length ? ` (${step.do.split('.')[0]} has: ${near.sort().join(', ')})` : ''}`,
      );
    }
    if (step.vm !== undefined && !vms.has(step.vm)) {
      at(['steps', i, 'vm'], `no VM '${step.vm}' in world.vms`);
    }
  });
  if (problems.length) throw new ConfigError(source, problems);
  return s;
}

/**
 * A scenario file.
 * @throws ConfigError as parseScenario, or when the file cannot be read
 */
export function loadScenario(file: string, cat: ScenarioCatalogue): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [
      { path: [], line: 1, column: 1, message: `cannot read: ${(e as Error).message}` },
    ]);
  }
  return parseScenario(text, file, cat);
}
