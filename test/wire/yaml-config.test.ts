import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  ConfigError,
  configPosition,
  decodeYamlConfig,
  formatConfigPath,
} from '../../src/wire/yaml-config.ts';

const schema = z.strictObject({
  name: z.string(),
  items: z.array(z.strictObject({ size: z.number().int().positive() })).default([]),
  nested: z.strictObject({ deep: z.strictObject({ flag: z.boolean() }) }).optional(),
});

function fails(text: string): ConfigError {
  try {
    decodeYamlConfig(text, schema, 'f.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('decodeYamlConfig', () => {
  it('returns the schema output of valid YAML and of JSON', () => {
    assert.deepEqual(decodeYamlConfig('name: a\n', schema, 'f.yaml'), { name: 'a', items: [] });
    assert.deepEqual(decodeYamlConfig('{"name": "b", "items": [{"size": 2}]}', schema, 'f.json'), {
      name: 'b',
      items: [{ size: 2 }],
    });
  });

  it('places a bad value in a sequence at its own line and column', () => {
    const e = fails('name: a\nitems:\n  - size: 1\n  - size: -4\n');
    assert.equal(e.problems.length, 1);
    assert.deepEqual(
      { ...e.problems[0], message: '' },
      { path: ['items', 1, 'size'], line: 4, column: 11, message: '' },
    );
    assert.match(e.message, /^f\.yaml:4:11: items\[1\]\.size: /);
  });

  it('places each unknown key at the key, and a missing field at its parent', () => {
    const e = fails('name: a\nnested:\n  deep:\n    flag: true\n    flg: 1\n  other: 2\n');
    assert.deepEqual(
      e.problems.map((p) => [formatConfigPath(p.path), p.line, p.column, p.message]),
      [
        ['nested.deep.flg', 5, 5, 'unknown field'],
        ['nested.other', 6, 3, 'unknown field'],
      ],
    );
    const m = fails('nested:\n  deep: {}\n');
    const at = m.problems.map((p) => `${formatConfigPath(p.path)}@${p.line}:${p.column}`).sort();
    assert.deepEqual(at, ['name@1:1', 'nested.deep.flag@2:9']);
  });

  it('reports YAML syntax errors (a duplicate key too) with their line', () => {
    const e = fails('name: a\nname: b\n');
    assert.equal(e.problems[0].line, 2);
    assert.deepEqual(e.problems[0].path, []);
  });

  it('an alias to no anchor is a ConfigError at the alias, not a ReferenceError (fuzz finding)', () => {
    const e = fails('name: a\nitems: *nowhere\n');
    assert.equal(e.problems[0].line, 2);
    assert.equal(e.problems[0].column, 8);
    assert.match(e.message, /^f\.yaml:2:8: \(top\): Unresolved alias/);
  });

  it('a mapping or a list as a key is a ConfigError at the key, named plainly (fuzz finding)', () => {
    const map = fails('name: a\n? {x: 1}\n: 2\n');
    assert.deepEqual([map.problems[0].line, map.problems[0].column], [2, 3]);
    assert.match(map.message, /^f\.yaml:2:3: \(top\): a mapping as a key/);
    const list = fails('name: a\n[x, y]: 2\n');
    assert.match(list.message, /^f\.yaml:2:1: \(top\): a list as a key/);
    assert.equal(list.message.split('\n').length, 1, 'one line, not the whole text of the key');
  });

  it('configPosition finds a written field, and line 1 for text that does not parse', () => {
    assert.deepEqual(configPosition('a: 1\nb:\n  - x\n  - y\n', ['b', 1]), { line: 4, column: 5 });
    assert.deepEqual(configPosition('a: [', ['a']), { line: 1, column: 1 });
  });
});
