import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CliError } from '../../src/cli/identity.ts';
import { isUserError } from '../../src/cli/user-error.ts';
import { TransportError } from '../../src/transport/types.ts';
import { WireError } from '../../src/wire/errors.ts';

describe("teeio: which errors are the user's (one line) and which are bugs (stack)", () => {
  test('user errors', () => {
    assert.ok(isUserError(new CliError('--port x')));
    assert.ok(isUserError(new TransportError('closed', 'connecting to 127.0.0.1:1')));
    assert.ok(isUserError(new WireError('SPDM', 'VERSION', 'Count', 4, 'truncated')));
    let enoent: unknown;
    try {
      readFileSync('/nonexistent/teeio');
    } catch (e) {
      enoent = e;
    }
    assert.ok(isUserError(enoent));
  });

  test('an Error with a code is not a user error for that alone', () => {
    assert.equal(
      isUserError(Object.assign(new Error('bad arg'), { code: 'ERR_INVALID_ARG_TYPE' })),
      false,
    );
    assert.equal(isUserError(new RangeError('offset out of range')), false);
    assert.equal(isUserError('a string'), false);
  });
});
