/**
 * The command's manners: the top-level help drawn from src/cli/commands.ts agrees with the
 * subcommands' own registration; every subcommand's --help ends with examples that use
 * only its real options; `teeio --help` and `--version` load no subcommand module and none
 * of the heavy libraries; usage errors exit 2; nothing in src/ writes colour escapes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command, Help } from 'commander';
import { SUBCOMMANDS } from '../../src/cli/commands.ts';
import { baseProgram, namedSubcommand } from '../../src/cli/main.ts';

const tmp = mkdtempSync(join(tmpdir(), 'teeio-help-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `teeio ...args` from the sources, with the modules it resolved. */
function teeio(...args: string[]) {
  const log = join(tmp, `load-${Math.random().toString(36).slice(2)}.txt`);
  const r = spawnSync(
    process.execPath,
    ['--import', resolve('test/support/load-log.mjs'), resolve('bin/teeio.mjs'), ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, TEEIO_FROM_SOURCE: '1', TEEIO_LOAD_LOG: log },
    },
  );
  let loaded: string[] = [];
  try {
    loaded = [...new Set(readFileSync(log, 'utf8').trim().split('\n'))];
  } catch {}
  return { ...r, loaded };
}

const HEAVY = /node_modules\/(@peculiar|reflect-metadata|zod|yaml)\//;

/** Every `--option` an example uses, with the words of the example before the options. */
function exampleOptions(helpText: string): Array<{ line: string; options: string[] }> {
  const block = helpText.slice(helpText.indexOf('\nExamples:\n'));
  return block
    .split('\n')
    .filter((l) => /^ {2}teeio /.test(l))
    .flatMap((l) => l.split(/&&|\|/).map((part) => part.trim()))
    .map((line) => ({ line, options: line.match(/--[a-z][a-z-]*/g) ?? [] }));
}

describe('teeio --help and the subcommands', () => {
  it('the table of subcommands agrees with what each module registers', async () => {
    const help = new Help();
    for (const s of SUBCOMMANDS) {
      const program = new Command('teeio');
      (await s.load()).register(program);
      const cmd = program.commands.find((c) => c.name() === s.name);
      assert.ok(cmd, `${s.name} registers a command of that name`);
      assert.equal(program.commands.length, 1, `${s.name} registers one command`);
      assert.equal(cmd.description(), s.description, `${s.name}: description`);
      assert.equal(help.subcommandTerm(cmd), s.term, `${s.name}: term`);
    }
    assert.deepEqual(
      readdirSync('src/cli')
        .filter((f) => SUBCOMMANDS.some((s) => f === `${s.name}.ts`))
        .sort(),
      SUBCOMMANDS.map((s) => `${s.name}.ts`).sort(),
    );
  });

  it('every subcommand ends its --help with examples that use only its own options', async () => {
    for (const s of SUBCOMMANDS) {
      const program = baseProgram();
      (await s.load()).register(program);
      const cmd = program.commands.find((c) => c.name() === s.name)!;
      const commands = [cmd, ...cmd.commands];
      for (const c of commands) {
        let text = '';
        c.configureOutput({ writeOut: (t) => (text += t), writeErr: (t) => (text += t) });
        c.outputHelp();
        assert.match(text, /\nExamples:\n {2}/, `teeio ${s.name} ${c === cmd ? '' : c.name()}`);
        for (const { line, options } of exampleOptions(text)) {
          const words = line.split(/\s+/);
          if (words[0] !== 'teeio') continue;
          const target = SUBCOMMANDS.find((x) => x.name === words[1]);
          assert.ok(target, `${line}: a teeio subcommand`);
          if (target.name !== s.name) continue; // checked under its own command
          const sub = cmd.commands.find((x) => x.name() === words[2]);
          const known = new Set([...(sub ?? cmd).options.map((o) => o.long), '--help']);
          for (const o of options) assert.ok(known.has(o), `${line}: ${o} is an option of it`);
        }
      }
    }
  });

  it('teeio --help lists every subcommand and loads none of their modules', () => {
    const r = teeio('--help');
    assert.equal(r.status, 0, r.stderr);
    for (const s of SUBCOMMANDS) assert.ok(r.stdout.includes(`\n  ${s.term} `), s.term);
    assert.match(r.stdout, /Exit codes: 0 ok, 1 .*, 2 a usage or input error/);
    const src = r.loaded.filter((u) => u.includes('/src/'));
    assert.deepEqual(src.map((u) => u.replace(/^.*\/src\//, 'src/')).sort(), [
      'src/cli/commands.ts',
      'src/cli/main.ts',
    ]);
    assert.deepEqual(
      r.loaded.filter((u) => HEAVY.test(u)),
      [],
    );
  });

  it('teeio --version loads no subcommand and none of the heavy libraries', () => {
    const r = teeio('--version');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
    assert.deepEqual(
      r.loaded
        .filter((u) => u.includes('/src/'))
        .map((u) => u.replace(/^.*\/src\//, 'src/'))
        .sort(),
      ['src/cli/commands.ts', 'src/cli/main.ts'],
    );
    assert.deepEqual(
      r.loaded.filter((u) => HEAVY.test(u)),
      [],
    );
  });

  it('teeio NAME loads NAME and not the other subcommands', () => {
    const r = teeio('decode', '--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: teeio decode \[options\] <file>/);
    const others = SUBCOMMANDS.filter((s) => s.name !== 'decode').map(
      (s) => `/src/cli/${s.name}.ts`,
    );
    assert.deepEqual(
      r.loaded.filter((u) => others.some((o) => u.endsWith(o))),
      [],
    );
    assert.equal(namedSubcommand(['node', 'teeio', 'help', 'run'])?.name, 'run');
    assert.equal(namedSubcommand(['node', 'teeio', '--help']), undefined);
  });

  it('teeio demo, run and explore --help load none of the heavy libraries', () => {
    for (const name of ['demo', 'run', 'explore']) {
      const r = teeio(name, '--help');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\nExamples:\n/);
      assert.deepEqual(
        r.loaded.filter((u) => HEAVY.test(u)),
        [],
        `teeio ${name} --help`,
      );
    }
  });

  it('usage errors exit 2; help exits 0', () => {
    for (const args of [['nope'], ['--nope'], ['demo', '--nope'], ['run'], []]) {
      const r = teeio(...args);
      assert.equal(r.status, 2, `teeio ${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(teeio('help', 'run').status, 0);
    assert.equal(teeio('run', '-h').status, 0);
  });

  it('no colour escapes anywhere in src/ (so NO_COLOR and pipes need nothing)', () => {
    const files = (readdirSync('src', { recursive: true }) as string[]).filter((f) =>
      /\.(ts|mjs)$/.test(f),
    );
    // Written as escapes in the source, or the raw ESC byte.
    const esc = /\\x1b|\\u001b|\\u\{1b\}|\\033/i;
    const escByte = String.fromCharCode(0x1b);
    assert.deepEqual(
      files.filter((f) => {
        const text = readFileSync(join('src', f), 'utf8');
        return esc.test(text) || text.includes(escByte);
      }),
      [],
    );
  });
});
