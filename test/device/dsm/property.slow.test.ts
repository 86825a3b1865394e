/** The DSM state-machine property of property.test.ts, run long (npm run test:slow). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProperty } from './state-machine-model.ts';

test('5,000 random TDISP / IDE_KM / config sequences', () => {
  const seen = checkProperty(5_000);
  assert.ok(seen.run > 100 && seen.error > 100, JSON.stringify(seen));
});
