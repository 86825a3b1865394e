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
 */
export function clonePlain<T>(x: T, shared?: ReadonlySet<object>): T {
  return copy(x, new Map(), shared) as T;
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
