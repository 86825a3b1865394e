/**
 * The first part of `teeio demo`: a confidential VM getting a device through every layer
 * (scenarios/coco-vm-<flavour>.yaml): the host connects the device, the VMM creates the VM
 * and assigns the TDI, the guest locks, attests, accepts and uses it, then lets it go. Each
 * step is printed as it runs, with the invariants checked after it.
 */
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../scenario/load.ts';
import { runScenario } from '../scenario/run.ts';
import { CATALOGUE, scenarioWorld } from '../scenario/world.ts';
import { INVARIANTS } from '../world/invariants.ts';
import { Trace, traceRecordJson } from '../world/trace.ts';
import type { DemoFlavour } from './demo.ts';
import { stepLine } from './run.ts';

/** Runs the CoCo VM lifecycle on `flavour`; true when every step came as expected. */
export async function runCocoVmDemo(
  flavour: DemoFlavour,
  o: { seed?: string; json?: boolean; trace?: Trace },
): Promise<boolean> {
  const file = fileURLToPath(new URL(`../../scenarios/coco-vm-${flavour}.yaml`, import.meta.url));
  const s = loadScenario(file, CATALOGUE);
  if (o.seed !== undefined) s.world.seed = o.seed;
  const trace = o.trace ?? new Trace();
  if (o.json) trace.onRecord((r) => console.log(JSON.stringify(traceRecordJson(r))));
  const world = await scenarioWorld(s, file, trace);
  if (!o.json) {
    console.log(`teeio demo: ${s.name}: device, TSM firmware, host kernel, VMM and guest\n`);
    console.log('step  ok    actor  operation                  result       TDI');
  }
  const report = await runScenario(s, world, (r) => {
    if (o.json) return;
    console.log(stepLine(r));
    if (r.step.note) console.log(`           ${r.step.note}: ${r.result.errno ?? 'ok'}`);
    for (const p of r.problems) console.log(`           FAILED: ${p}`);
  });
  if (!o.json) {
    const held = report.steps.filter((x) => x.problems.length === 0).length;
    const events = trace.records.filter((r) => r.kind === 'uapi' || r.kind === 'abi').length;
    console.log(
      `\n${held}/${report.steps.length} steps as expected, ${INVARIANTS.length} security invariants held after every step, ${events} uAPI and firmware calls (teeio run ${`scenarios/coco-vm-${flavour}.yaml`} --trace FILE for all of them)\n`,
    );
  }
  return report.ok;
}
