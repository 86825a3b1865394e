/**
 * The three reports of a run: text for people (grouped, each failure with what was
 * expected, what came back and the bytes, and the closing "N passed, N failed, N skipped"),
 * JSON (the results as data), and JUnit XML (one testsuite per group, for CI).
 */
import type { CaseResult, Group, Outcome } from './case.ts';

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
  /** Expected deviations (under a profile). */
  deviations: number;
  /** Passes of cases the profile lists a deviation for. */
  deviationsNotSeen: number;
}

export function totals(results: readonly CaseResult[]): Totals {
  const t = { passed: 0, failed: 0, skipped: 0, deviations: 0, deviationsNotSeen: 0 };
  for (const r of results) {
    if (r.outcome.status === 'pass') t.passed++;
    else if (r.outcome.status === 'fail') t.failed++;
    else if (r.outcome.status === 'deviation') t.deviations++;
    else t.skipped++;
    if (r.deviationNotSeen !== undefined) t.deviationsNotSeen++;
  }
  return t;
}

/**
 * "N passed, N failed, N skipped", and ", N expected deviations" when a profile was used
 * (`profile`), whatever the count.
 */
export const totalsLine = (t: Totals, profile = false): string =>
  `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped${profile ? `, ${t.deviations} expected deviations` : ''}`;

function groups(results: readonly CaseResult[]): Map<Group, CaseResult[]> {
  const m = new Map<Group, CaseResult[]>();
  for (const r of results) {
    const g = m.get(r.group) ?? [];
    g.push(r);
    m.set(r.group, g);
  }
  return m;
}

/** One result as the text report shows it (a line, plus detail lines for a failure). */
/** The four-letter tag of an outcome in the text report. */
export function statusTag(o: Outcome): string {
  return { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', deviation: 'DEVN' }[o.status];
}

export function formatResult(r: CaseResult): string {
  const o = r.outcome;
  const head = `  ${statusTag(o)}  ${r.id}  ${r.title}`;
  if (o.status === 'pass') {
    return r.deviationNotSeen === undefined
      ? head
      : `${head}\n        expected deviation not seen (the responder no longer departs here): ${r.deviationNotSeen}`;
  }
  if (o.status === 'skip') return `${head}\n        skipped: ${o.why}`;
  const lines = [head];
  if (o.status === 'deviation') lines.push(`        expected deviation: ${o.deviation}`);
  lines.push(
    `        rule:     ${r.rule}`,
    `        expected: ${o.expected}`,
    `        got:      ${o.got}`,
  );
  if (o.bytes) lines.push(`        bytes:    ${o.bytes}`);
  return lines.join('\n');
}

export interface TextReportOptions {
  header?: string;
  /** The profile used, if any: the totals then count expected deviations. */
  profile?: string;
}

/** The text report; its last line is the totals line. */
export function textReport(results: readonly CaseResult[], o: TextReportOptions = {}): string {
  const out: string[] = [];
  const withProfile = o.profile !== undefined;
  if (o.header) out.push(o.header, '');
  for (const [g, rs] of groups(results)) {
    const t = totals(rs);
    out.push(`${g} (${totalsLine(t, withProfile)})`);
    for (const r of rs) out.push(formatResult(r));
    out.push('');
  }
  const all = totals(results);
  if (withProfile && all.deviationsNotSeen > 0) {
    const ids = results.filter((r) => r.deviationNotSeen !== undefined).map((r) => r.id);
    out.push(
      `profile ${o.profile}: ${all.deviationsNotSeen} expected deviations not seen: ${ids.join(', ')}`,
      '',
    );
  }
  out.push(totalsLine(all, withProfile));
  return out.join('\n');
}

export function jsonReport(
  results: readonly CaseResult[],
  target: Record<string, unknown>,
): string {
  return JSON.stringify({ target, totals: totals(results), results }, null, 2);
}

const xml = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: characters XML 1.0 cannot carry
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?');

/** JUnit XML: <testsuites> with one <testsuite> per group, a <testcase> per case. */
export function junitReport(results: readonly CaseResult[], name = 'teeio conformance'): string {
  const all = totals(results);
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(name)}" tests="${results.length}" failures="${all.failed}" skipped="${all.skipped}" time="${secs(results.reduce((a, r) => a + r.ms, 0))}">`,
  ];
  for (const [g, rs] of groups(results)) {
    const t = totals(rs);
    out.push(
      `  <testsuite name="${xml(g)}" tests="${rs.length}" failures="${t.failed}" errors="0" skipped="${t.skipped}" time="${secs(rs.reduce((a, r) => a + r.ms, 0))}">`,
    );
    for (const r of rs) {
      const open = `    <testcase classname="${xml(`conformance.${g}`)}" name="${xml(r.id)}" time="${secs(r.ms)}">`;
      const o = r.outcome;
      const props = [`<property name="rule" value="${xml(r.rule)}"/>`];
      if (o.status === 'deviation') props.push('<property name="outcome" value="deviation"/>');
      out.push(open, `      <properties>${props.join('')}</properties>`);
      if (o.status === 'skip') out.push(`      <skipped message="${xml(o.why)}"/>`);
      if (o.status === 'deviation') {
        out.push(
          `      <system-out>${xml(`expected deviation: ${o.deviation}\nexpected: ${o.expected}\ngot: ${o.got}`)}</system-out>`,
        );
      }
      if (r.deviationNotSeen !== undefined) {
        out.push(
          `      <system-out>${xml(`expected deviation not seen: ${r.deviationNotSeen}`)}</system-out>`,
        );
      }
      if (o.status === 'fail') {
        const detail = `rule: ${r.rule}\nexpected: ${o.expected}\ngot: ${o.got}${o.bytes ? `\nbytes: ${o.bytes}` : ''}`;
        out.push(
          `      <failure message="${xml(`expected ${o.expected}, got ${o.got}`)}" type="nonconformance">${xml(detail)}</failure>`,
        );
      }
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
