/**
 * Property: random sequences of TDISP requests, IDE_KM key programming and host config
 * writes never drive a TDI into a state the PCIe text forbids (the monitor is in
 * state-machine-model.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SESSION_A, SESSION_B } from './harness.ts';
import { checkProperty, run } from './state-machine-model.ts';

test('random TDISP / IDE_KM / config sequences never reach a forbidden state', () => {
  const seen = checkProperty(Number(process.env.TEEIO_DSM_RUNS ?? 300));
  // The generator must actually exercise the interesting paths.
  assert.ok(seen.run >= 10, `RUN reached ${seen.run} times`);
  assert.ok(seen.error >= 10, `ERROR reached ${seen.error} times`);
});

test('a sequence that reaches RUN legitimately (the generator can get there)', () => {
  const after = run([
    { kind: 'keys', session: SESSION_A, conn: 1 },
    { kind: 'tdisp', code: 0x83, fn: 1, session: SESSION_A, conn: 1, nonce: 'last', stream: 0 },
    { kind: 'tdisp', code: 0x86, fn: 1, session: SESSION_A, conn: 1, nonce: 'last', stream: 0 },
    { kind: 'config', what: 'bme', fn: 1 },
    { kind: 'tdisp', code: 0x86, fn: 1, session: SESSION_A, conn: 1, nonce: 'last', stream: 0 },
    { kind: 'tdisp', code: 0x87, fn: 1, session: SESSION_B, conn: 2, nonce: 'last', stream: 0 },
  ]);
  assert.deepEqual(
    after.map((s) => s.get(1)),
    ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'RUN', 'ERROR', 'ERROR', 'CONFIG_UNLOCKED'],
  );
});
