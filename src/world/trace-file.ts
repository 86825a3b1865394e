/**
 * Trace files (docs/trace.md): what `teeio run --trace` and `teeio demo --trace` write, the
 * format named and versioned ({ format: 'teeio-trace/1', source, records }), and what
 * `teeio demo --json` prints (a header line naming the format, then one JSON record per
 * line, world/trace.ts traceRecordJson). Reading one back also takes a bare JSON array of
 * records. Tolerant by design: records come back as parsed, kinds this version does not
 * know included, so the viewer can show traces from newer writers; only a file naming
 * another format is refused. Pure (no Node API): the viewer page uses it too.
 */

/** The trace file format and its version (docs/trace.md). */
export const TRACE_FORMAT = 'teeio-trace/1';

/** The header a trace file starts with: its format, and the command that wrote it. */
export interface TraceHeader {
  format: string;
  /** The command line that wrote the trace, e.g. 'teeio run scenarios/coco-vm-tdx.yaml'. */
  source?: string;
}

/** A whole trace file: the header's fields and the records (JSON-safe, traceRecordJson). */
export interface TraceFileJson extends TraceHeader {
  records: unknown[];
}

/** The file form of `records` (already JSON-safe) written by `source`. */
export function traceFileJson(records: unknown[], source: string): TraceFileJson {
  return { format: TRACE_FORMAT, source, records };
}

/** The header line of the JSON-lines form. */
export const traceHeaderLine = (source: string): string =>
  JSON.stringify({ format: TRACE_FORMAT, source } satisfies TraceHeader);

/** A trace record as read from JSON: an object with at least a `kind`, nothing else assumed. */
export type JsonRecord = Record<string, unknown>;

/** Text that is not a trace: not JSON, or JSON that holds something other than records. */
export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
}

function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A header (a `format` and no `kind`), checked: another format than teeio's is refused. */
function isHeader(v: JsonRecord): boolean {
  if (v.kind !== undefined || typeof v.format !== 'string') return false;
  if (!v.format.startsWith('teeio-trace/')) {
    throw new TraceFileError(`format '${v.format}' is not a teeio trace (${TRACE_FORMAT})`);
  }
  return true;
}

function checked(list: unknown[], where: (i: number) => string): JsonRecord[] {
  list.forEach((r, i) => {
    if (!isRecord(r)) throw new TraceFileError(`${where(i)}: not a trace record (a JSON object)`);
  });
  return list as JsonRecord[];
}

/**
 * The records of a trace file's text.
 * @throws TraceFileError naming the line (JSON lines) or the record (array) that is not a record.
 */
export function parseTraceText(text: string): JsonRecord[] {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[') || t.startsWith('{')) {
    let whole: unknown;
    try {
      whole = JSON.parse(t);
    } catch {
      whole = undefined; // JSON lines: parsed line by line below
    }
    if (Array.isArray(whole)) return checked(whole, (i) => `record ${i}`);
    if (isRecord(whole)) {
      if (whole.format !== undefined) isHeader(whole);
      if (Array.isArray(whole.records)) return checked(whole.records, (i) => `records[${i}]`);
      return [whole];
    }
  }
  const out: JsonRecord[] = [];
  const lines = t.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new TraceFileError(`line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (!isRecord(r)) throw new TraceFileError(`line ${i + 1}: not a trace record (a JSON object)`);
    if (out.length === 0 && isHeader(r)) continue;
    out.push(r);
  }
  return out;
}
