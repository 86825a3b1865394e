/**
 * A deep copy of plain data (objects, arrays, Maps, Sets, typed arrays, primitives and
 * bigints), several times faster than `structuredClone` on the object-heavy records a world
 * is made of (the explorer copies a whole world per step). It keeps what structuredClone
 * keeps that the records rely on: an object reached twice is copied once (an SPDM session's
 * current key schedule is the same object as one of its data keys, and advancing one
 * advances the other). Anything else (a class instance, a Date, a DataView) is left to
 * structuredClone.
 *
 * `shared` names objects that never change once built (a function's config-space reset
 * image): they are handed over as they are, not copied.
 *
 * `prev` is an earlier copy of the same record (a snapshot of the state before a step):
 * every part of `x` equal to the same part of `prev` is handed over as prev's, not copied,
 * so a copy costs what the step changed, and the parts two snapshots share keep what was
 * computed of them (the explorer's state digests). Such a copy shares memory with `prev`:
 * neither may be changed afterwards (snapshots are not).
 */
export function clonePlain<T>(x: T, shared?: ReadonlySet<object>, prev?: T): T {
  if (prev === undefined) return copy(x, new Map(), shared) as T;
  return copyLike(x, prev, { memo: new Map(), claimed: new Set(), shared }, 0) as T;
}

function copy(
  x: unknown,
  memo: Map<object, unknown>,
  shared: ReadonlySet<object> | undefined,
): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const had = memo.get(x);
  if (had !== undefined) return had;
  if (shared?.has(x)) return x;
  if (Array.isArray(x)) {
    const n = x.length;
    const o = new Array(n);
    memo.set(x, o);
    for (let i = 0; i < n; i++) o[i] = copy(x[i], memo, shared);
    return o;
  }
  if (x instanceof Uint8Array) {
    // A view of part of a larger buffer is copied as structuredClone would: the whole
    // buffer, the same window onto it. A copy is a plain Uint8Array, a Buffer's too (whose
    // slice() would share its memory).
    const o =
      x.byteOffset === 0 && x.byteLength === x.buffer.byteLength
        ? new Uint8Array(x)
        : new Uint8Array(x.buffer.slice(0), x.byteOffset, x.length);
    memo.set(x, o);
    return o;
  }
  if (x instanceof Map) {
    const o = new Map();
    memo.set(x, o);
    for (const [k, v] of x) o.set(copy(k, memo, shared), copy(v, memo, shared));
    return o;
  }
  if (x instanceof Set) {
    const o = new Set();
    memo.set(x, o);
    for (const v of x) o.add(copy(v, memo, shared));
    return o;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) {
    const o = structuredClone(x);
    memo.set(x, o);
    return o;
  }
  const o: Record<string, unknown> = {};
  memo.set(x, o);
  for (const k in x) o[k] = copy((x as Record<string, unknown>)[k], memo, shared);
  return o;
}

interface LikeWalk {
  /** Each object of `x` met so far and what stands for it in the copy. */
  memo: Map<object, unknown>;
  /** Parts of `prev` already standing for an object of `x` (none stands for two). */
  claimed: Set<object>;
  shared: ReadonlySet<object> | undefined;
}

/** Deeper than any record is nested: a record that contains itself. */
const MAX_DEPTH = 512;

/**
 * `x` copied, or `p` itself where `x` equals it (same kind, keys in the same order, equal
 * members). An object reached twice stands for one copy, as in `copy`; a part of `p` is
 * handed over for one object of `x` only, so the copy has exactly the sharing `x` has.
 */
function copyLike(x: unknown, p: unknown, w: LikeWalk, depth: number): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const had = w.memo.get(x);
  if (had !== undefined) return had;
  if (w.shared?.has(x)) return x;
  if (depth > MAX_DEPTH) throw new TypeError('clonePlain: a record that contains itself');
  const like = typeof p === 'object' && p !== null && !w.claimed.has(p) ? p : undefined;
  const o = copyNode(x, like, w, depth + 1);
  w.memo.set(x, o);
  if (like !== undefined && o === like) w.claimed.add(like);
  return o;
}

// Each kind first tries the common case, every member the same value as prev's (the
// members are primitives: a live object is never one of prev's), without copying.
function copyNode(x: object, p: object | undefined, w: LikeWalk, depth: number): unknown {
  if (Array.isArray(x)) {
    const n = x.length;
    // Elements are matched by index (one appended leaves the others shared); the array is
    // prev's own only with as many, all equal.
    const pa = Array.isArray(p) ? (p as unknown[]) : undefined;
    let i = 0;
    if (pa !== undefined) {
      while (i < n && same0(x[i], pa[i])) i++;
      if (i === n && pa.length === n) return pa;
    }
    const o = x.slice(0, i);
    let same = pa !== undefined && pa.length === n;
    for (; i < n; i++) {
      o[i] = copyLike(x[i], pa?.[i], w, depth);
      if (same && !Object.is(o[i], pa?.[i])) same = false;
    }
    return same ? pa : o;
  }
  if (x instanceof Uint8Array) {
    // Only the window counts: what lies around a view in its buffer is nobody's state.
    if (p instanceof Uint8Array && p.constructor === x.constructor && sameBytes(p, x)) return p;
    return copy(x, new Map(), undefined);
  }
  if (x instanceof Map) {
    const pm = p instanceof Map ? p : undefined;
    // Entries are matched by key (a page added to a memory map leaves the others shared),
    // and the map is prev's own only with the same entries in the same order.
    const it = pm !== undefined && pm.size === x.size ? pm.entries() : undefined;
    const o = new Map();
    let same = it !== undefined;
    for (const [k, v] of x) {
      const pe = it?.next().value as [unknown, unknown] | undefined;
      const ck = copyLike(k, pe?.[0], w, depth);
      const cv = copyLike(v, pm?.get(k), w, depth);
      o.set(ck, cv);
      if (same && !(pe !== undefined && Object.is(ck, pe[0]) && Object.is(cv, pe[1]))) same = false;
    }
    return same ? p : o;
  }
  if (x instanceof Set) {
    const it = p instanceof Set && p.size === x.size ? p.values() : undefined;
    const o = new Set();
    let same = it !== undefined;
    for (const v of x) {
      const pv = it?.next().value;
      const cv = copyLike(v, pv, w, depth);
      o.add(cv);
      if (same && !Object.is(cv, pv)) same = false;
    }
    return same ? p : o;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return structuredClone(x);
  const xr = x as Record<string, unknown>;
  const pp =
    p !== undefined &&
    !Array.isArray(p) &&
    !ArrayBuffer.isView(p) &&
    Object.getPrototypeOf(p) === proto
      ? (p as Record<string, unknown>)
      : undefined;
  const keys = pp === undefined ? undefined : Object.keys(pp);
  if (keys !== undefined && pp !== undefined) {
    let i = 0;
    let differ = false;
    for (const k in xr) {
      if (keys[i] !== k || !same0(xr[k], pp[k])) {
        differ = true;
        break;
      }
      i++;
    }
    if (!differ && i === keys.length) return pp;
  }
  const o: Record<string, unknown> = {};
  let same = keys !== undefined;
  let i = 0;
  for (const k in xr) {
    const pv = pp?.[k];
    o[k] = copyLike(xr[k], pv, w, depth);
    if (same && !(keys?.[i] === k && Object.is(o[k], pv))) same = false;
    i++;
  }
  return same && i === keys?.length ? pp : o;
}

/** `===` but for zeros, which keep their sign (as Object.is); NaN takes the long way. */
const same0 = (a: unknown, b: unknown): boolean => a === b && (a !== 0 || Object.is(a, b));

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (n > 32) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
