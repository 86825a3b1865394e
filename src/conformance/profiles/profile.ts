/**
 * Profiles: a responder's known departures as data. A profile lists deviations, each with
 * the cases that show it (ids or `*` globs, as --only takes them) and what the responder
 * does instead. Under a profile a listed case that fails ends as 'deviation' (counted
 * apart, not a failure); a listed case that passes stays a pass with a note that the
 * deviation was not seen, so a responder that got better is noticed.
 */
import type { CaseResult } from '../case.ts';

export interface Deviation {
  /** Case ids or globs (`*` any run of characters). */
  cases: string[];
  /** What the responder does instead of what the rule says. */
  what: string;
}

export interface Profile {
  name: string;
  /** The responder the profile describes. */
  description: string;
  deviations: Deviation[];
}

function globMatches(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(id);
}

/** The deviation a profile lists for case `id`, if any. */
export function deviationOf(profile: Profile, id: string): Deviation | undefined {
  return profile.deviations.find((d) => d.cases.some((p) => globMatches(p, id)));
}

/**
 * A result as the profile sees it: a listed failure becomes an expected deviation, a
 * listed pass carries `deviationNotSeen`; anything else is unchanged.
 */
export function applyProfile(profile: Profile, r: CaseResult): CaseResult {
  const d = deviationOf(profile, r.id);
  if (!d) return r;
  const o = r.outcome;
  if (o.status === 'fail') {
    return {
      ...r,
      outcome: {
        status: 'deviation',
        deviation: d.what,
        expected: o.expected,
        got: o.got,
        ...(o.bytes ? { bytes: o.bytes } : {}),
      },
    };
  }
  if (o.status === 'pass') return { ...r, deviationNotSeen: d.what };
  return r;
}
