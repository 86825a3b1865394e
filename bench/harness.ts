/**
 * Shared shape of benchmark files: each bench/*.bench.ts exports `cases`.
 * A case is measured by tinybench; `ratios` name pairs of cases whose ratio
 * (a / b of mean latency) is reported, both measured in the same run.
 */
export interface BenchCase {
  group: string;
  name: string;
  fn: () => unknown | Promise<unknown>;
  /** Runs once before timing (servers, keys). */
  before?: () => Promise<void> | void;
  after?: () => Promise<void> | void;
  /** Items processed per call, for "messages/s" figures (default 1). */
  items?: number;
}

export interface BenchRatio {
  name: string;
  numerator: string; // "group/name"
  denominator: string;
  target?: number;
}

/** A figure a bench file measures itself (memory, counts), printed after the cases. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** At most this. */
  target?: number;
}
