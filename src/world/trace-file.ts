/**
 * Reading a trace file back: what `teeio demo --json` writes (one JSON record per line,
 * world/trace.ts traceRecordJson), a JSON array of records, or an object holding a
 * `records` array. Tolerant by design: records come back as parsed, kinds this version does
 * not know included, so the viewer can show traces from newer writers. Pure (no Node API):
 * the viewer page uses it too.
 */

/** A trace record as read from JSON: an object with at least a `kind`, nothing else assumed. */
export type JsonRecord = Record<string, unknown>;

/** Text that is not a trace: not JSON, or JSON that holds something other than records. */
export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
}

function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
    out.push(r);
  }
  return out;
}
