/**
 * The assertion the wire codec tests share (STYLE.md convention 3): a decoder refused its
 * input with a WireError of the expected protocol, kind and field.
 */
import assert from 'node:assert/strict';
import { WireError } from '../../src/wire/errors.ts';

/**
 * An expectWireError(fn, kind, field?) that also checks the protocol when one is given; it
 * returns the error for further checks.
 */
export function wireErrorExpecter(protocol?: string) {
  return (fn: () => unknown, kind: WireError['kind'], field?: string): WireError => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof WireError, `expected WireError, got ${e}`);
      assert.equal(e.kind, kind, e.message);
      if (field) assert.equal(e.field, field, e.message);
      if (protocol) assert.equal(e.protocol, protocol);
      return e;
    }
    assert.fail('expected a WireError');
  };
}
