/**
 * Time as an injected dependency (DESIGN.md principle 2): every deadline and pause in the
 * model asks a Clock, so a test or the explorer can run a timeout path without waiting and
 * replay it exactly. The real clock reads the monotonic timer and sleeps on Node timers;
 * the virtual clock only moves when something sleeps on it, and then at once.
 */

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences mean anything). */
  now(): number;
  /** Resolves once `ms` have passed on this clock (0 or less: after a yield). */
  sleep(ms: number): Promise<void>;
}

/** Wall time: performance.now() and setTimeout (setImmediate for a zero pause). */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) =>
    new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve))),
};

/**
 * A clock that advances by exactly what is slept on it, without waiting: a 1 s timeout
 * takes no wall time. Sleeping still yields to the event loop once, so concurrent work
 * interleaves the same way as on the real clock.
 */
export class VirtualClock implements Clock {
  private t: number;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    if (ms > 0) this.t += ms;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Moves time forward by `ms` without anyone sleeping. Throws RangeError on a negative step. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`clock step ${ms}`);
    this.t += ms;
  }

  /** Sets the time to `t` (a world snapshot's `now()`), backwards too: restoring a fork. */
  restore(t: number): void {
    if (!Number.isFinite(t)) throw new RangeError(`clock time ${t}`);
    this.t = t;
  }
}
