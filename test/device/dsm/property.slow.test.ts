/** The DSM state-machine property of property.test.ts, run long (npm run test:slow). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProperty } from './property.test.ts';

test('20,000 random TDISP / IDE_KM / config sequences', () => {
  const seen = checkProperty(20_000);
  assert.ok(seen.run > 500 && seen.error > 500, JSON.stringify(seen));
});
