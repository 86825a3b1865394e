/**
 * `npm run fuzz -- --target NAME --time N` runs the targets whose name contains NAME (or any
 * of NAME,NAME2,...) for N seconds each; `--inputs M` stops a target after M inputs when that
 * comes first (a long run: `--inputs 1000000 --time 3600`);
 * `npm run fuzz:all [-- --seconds N] [--target NAME] [--seed N] [--out DIR]`
 * (`--time` and `--seconds` are the same option) runs every fuzz
 * target of test/support/fuzz-targets.ts (each entry point that takes peer bytes: wire
 * decoders, the SPDM responder and requester, the DOE mailbox, the DSM) for N seconds each
 * (default 2), mutating a corpus of valid messages from a real lifecycle, and prints per
 * target the executions, executions per second, crashes and hangs. Each finding's input is
 * saved under DIR (default fuzz-findings/) as TARGET-N.bin with TARGET-N.txt saying what
 * broke; the exit code is 1 when there was any.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Finding, hex, runTarget } from '../test/support/fuzz-driver.ts';
import { fuzzTargets } from '../test/support/fuzz-targets.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    time: { type: 'string' },
    target: { type: 'string' },
    inputs: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string', default: 'fuzz-findings' },
  },
});
const secondsArg = values.time ?? values.seconds ?? '2';
const seconds = Number(secondsArg);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`--time ${secondsArg}: a positive number of seconds per target`);
  process.exit(2);
}
const inputs = values.inputs === undefined ? undefined : Number(values.inputs);
if (inputs !== undefined && !(Number.isInteger(inputs) && inputs > 0)) {
  console.error(`--inputs ${values.inputs}: a positive number of inputs per target`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() >>> 0 : Number(values.seed);

const t0 = performance.now();
const wanted = values.target?.split(',').filter(Boolean) ?? [];
const targets = (await fuzzTargets()).filter(
  (t) => wanted.length === 0 || wanted.some((w) => t.name.includes(w)),
);
if (targets.length === 0) {
  console.error(`no target matches '${values.target}'`);
  process.exit(2);
}
console.log(
  `teeio fuzz: ${targets.length} targets, ${seconds} s each${inputs ? ` or ${inputs} inputs` : ''}, seed ${seed} (corpus built in ${Math.round(performance.now() - t0)} ms)\n`,
);
const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(
  `${'target'.padEnd(34)}${pad('seeds', 7)}${pad('execs', 10)}${pad('execs/s', 10)}${pad('crashes', 9)}${pad('hangs', 7)}`,
);

const saved: string[] = [];
function save(f: Finding, n: number): void {
  mkdirSync(values.out!, { recursive: true });
  const base = join(values.out!, `${f.target.replaceAll('/', '_')}-${f.kind}-${n}`);
  writeFileSync(`${base}.bin`, f.input);
  writeFileSync(
    `${base}.txt`,
    `${f.target}: ${f.kind} on a ${f.mutation} of corpus[${f.from}] (seed ${seed})\n${f.message}\ninput ${hex(f.input, 4096)}\n`,
  );
  saved.push(`${base}.bin`);
}

let findings = 0;
for (const t of targets) {
  const s = await runTarget(t, { seed, budgetMs: seconds * 1000, hangMs: 2000, runs: inputs });
  const rate = s.executions / (s.ms / 1000);
  console.log(
    `${t.name.padEnd(34)}${pad(t.corpus.length, 7)}${pad(s.executions, 10)}${pad(Math.round(rate), 10)}${pad(s.crashes.length, 9)}${pad(s.hangs.length, 7)}`,
  );
  [...s.crashes, ...s.hangs].forEach((f, i) => {
    save(f, i);
    console.log(`  ${f.kind}: ${f.message.slice(0, 300)}`);
  });
  findings += s.crashes.length + s.hangs.length;
  await t.close?.();
}
if (saved.length) console.log(`\ninputs saved: ${saved.join(', ')}`);
console.log(`\n${findings} finding(s) in ${Math.round((performance.now() - t0) / 1000)} s`);
process.exit(findings ? 1 : 0);
