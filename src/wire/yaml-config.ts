/**
 * Decoding a hand-written YAML file (YAML 1.2, so JSON too) against a zod schema, with every
 * problem pinned to its place: the file, the line and column, and the field path. The same
 * discipline as the binary codecs (a decoder names what was wrong and where), for the text
 * files people write: attestation policies, scenarios. Pure over text; reading the file is
 * the caller's.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';

export type ConfigPath = (string | number)[];

export interface ConfigProblem {
  /** The field the problem concerns; [] for the document itself. */
  path: ConfigPath;
  /** 1-based, where the field (or its nearest written parent) starts in the text. */
  line: number;
  column: number;
  message: string;
}

/** A field path as a reader writes it: `trustAnchors[0].file`, `(top)` for the root. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out || '(top)';
}

/** A file that failed to load: every problem, each line of the message `file:line:col: path: why`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      problems
        .map((p) => `${source}:${p.line}:${p.column}: ${formatConfigPath(p.path)}: ${p.message}`)
        .join('\n'),
    );
  }
}

type Doc = ReturnType<typeof parseDocument>;

/** The node a path leads to, or the nearest written ancestor's (a missing field). */
function nodeAt(doc: Doc, path: ConfigPath): Node | undefined {
  let node = doc.contents as Node | null;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (!pair) break;
      // An empty value has no place of its own: point at its key.
      if (!pair.value) return pair.key as Node;
      node = pair.value as Node;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key] as Node;
    } else {
      break;
    }
  }
  return node ?? undefined;
}

/** Where an unknown key is written: the key of that pair in the map at `path`. */
function keyAt(doc: Doc, path: ConfigPath, key: string): Node | undefined {
  const map = nodeAt(doc, path);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}

function positionOf(lc: LineCounter, node: Node | undefined): { line: number; column: number } {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

/**
 * Where `path` is written in `text` (or its nearest written parent), for problems found
 * after decoding (a file the config names cannot be read). Line 1 when `text` does not parse.
 */
export function configPosition(text: string, path: ConfigPath): { line: number; column: number } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  return positionOf(lineCounter, doc.errors.length ? undefined : nodeAt(doc, path));
}

/**
 * Parses `text` as YAML and validates it with `schema`.
 * @param source the file name the errors carry
 * @throws ConfigError naming each syntax error, or each schema issue with its line and path
 */
export function decodeYamlConfig<S extends z.ZodType>(
  text: string,
  schema: S,
  source: string,
): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { path: [], line, column: col, message: e.message.split('\n')[0] };
      }),
    );
  }
  // A mapping or list used as a key (`? {a: 1}`, `[a]: 1`): no config field is named that
  // way, and turning it into a string key would name the field by its whole text.
  const keys: ConfigProblem[] = [];
  visit(doc, {
    Pair(_k, pair) {
      if (isMap(pair.key) || isSeq(pair.key)) {
        keys.push({
          path: [],
          ...positionOf(lineCounter, pair.key as Node),
          message: `a ${isMap(pair.key) ? 'mapping' : 'list'} as a key: a field is a plain name`,
        });
      }
    },
  });
  if (keys.length) throw new ConfigError(source, keys);
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (e) {
    // An alias to an anchor not set before it, or more aliases than the reader allows
    // (yaml's ReferenceError): a problem of the file at its first alias, not a crash.
    let alias: Node | undefined;
    visit(doc, {
      Alias(_k, n) {
        alias = n as Node;
        return visit.BREAK;
      },
    });
    throw new ConfigError(source, [
      {
        path: [],
        ...positionOf(lineCounter, alias),
        message: (e as Error).message.split('\n')[0] ?? 'does not resolve',
      },
    ]);
  }
  const result = schema.safeParse(js);
  if (result.success) return result.data;
  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    if (issue.code === 'unrecognized_keys') {
      // One problem per unknown key, at the key itself.
      for (const key of issue.keys) {
        const at = positionOf(lineCounter, keyAt(doc, path, key) ?? nodeAt(doc, path));
        problems.push({ path: [...path, key], ...at, message: 'unknown field' });
      }
      continue;
    }
    problems.push({ path, ...positionOf(lineCounter, nodeAt(doc, path)), message: issue.message });
  }
  throw new ConfigError(source, problems);
}
