/**
 * The key the explorer keeps visited states by: a digest of the whole world snapshot, built
 * as a tree of digests. Each object of a snapshot gets its own digest, of its members (each
 * object member by its digest), kept with the object. Snapshots are never changed, and one
 * taken after a step hands over from the one before it whatever the step did not change
 * (World.snapshot's `prev`, wire/clone.ts), so keying a state costs what its step changed:
 * the rest of the tree is digested already.
 *
 * The encoding is the explorer's own, not V8's serializer: V8 writes a number as a tagged
 * integer or as a double depending on how the engine holds it at that moment, so one state
 * got several keys depending on the path and the time that built it. Here an integer is
 * its value and any other number its IEEE 754 bits. It is not canonical in order (two
 * equal states whose Maps were filled in another order get two keys): that costs only a
 * state explored twice, never one missed. It digests contents, not which records are the
 * same object: the one sharing a snapshot holds (an SPDM session's current key schedule is
 * one of its data keys) follows from the contents.
 *
 * The digest is two 32-bit MurmurHash3 lanes (a 64-bit key; not a cryptographic digest: a
 * host cannot choose the states the explorer meets), several times cheaper than SHA-1 on
 * the small records a step changes.
 */
import type { WorldSnapshot } from '../../world/world.ts';

export function stateKey(s: WorldSnapshot): string {
  const d = digestOf(s);
  return `${hex(d.a)}${hex(d.b)}`;
}

const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** An object's digest: its two lanes. */
interface Digest {
  a: number;
  b: number;
}

/** Digests of snapshot objects (which never change once taken). */
const DIGESTS = new WeakMap<object, Digest>();

/** Being digested: an object that contains itself meets this. */
const OPEN: Digest = { a: 0, b: 0 };

enum Tag {
  Int = 1,
  Float,
  String,
  BigInt,
  True,
  False,
  Undefined,
  Null,
  Array,
  Map,
  Set,
  Object,
  Bytes,
  Child,
}

/** The running state of one object's digest. */
class Lanes {
  a = 0x9747b28c;
  b = 0x5bd1e995;
  n = 0;

  word(k: number): void {
    this.a = round(this.a, k);
    this.b = round(this.b, k ^ 0x2545f491);
    this.n++;
  }

  text(s: string): void {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
  }

  digest(): Digest {
    return { a: fmix(this.a ^ this.n), b: fmix(this.b ^ this.n) };
  }
}

function round(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}

const F64 = new Float64Array(1);
const F64_WORDS = new Int32Array(F64.buffer);

/** Adds one member: a primitive by value, an object by its own digest. */
function member(l: Lanes, x: unknown): void {
  switch (typeof x) {
    case 'number':
      if ((x | 0) === x) {
        l.word(Tag.Int);
        l.word(x);
      } else {
        F64[0] = x;
        l.word(Tag.Float);
        l.word(F64_WORDS[0]);
        l.word(F64_WORDS[1]);
      }
      return;
    case 'string':
      l.word(Tag.String);
      l.text(x);
      return;
    case 'bigint':
      l.word(Tag.BigInt);
      l.text(x.toString(16));
      return;
    case 'boolean':
      l.word(x ? Tag.True : Tag.False);
      return;
    case 'undefined':
      l.word(Tag.Undefined);
      return;
    case 'symbol':
    case 'function':
      throw new TypeError(`a world snapshot holds a ${typeof x}`);
  }
  if (x === null) {
    l.word(Tag.Null);
    return;
  }
  const d = digestOf(x as object);
  l.word(Tag.Child);
  l.word(d.a);
  l.word(d.b);
}

function digestOf(x: object): Digest {
  const had = DIGESTS.get(x);
  if (had === OPEN) throw new TypeError('a world snapshot that contains itself');
  if (had !== undefined) return had;
  DIGESTS.set(x, OPEN);
  const l = new Lanes();
  if (ArrayBuffer.isView(x)) {
    l.word(Tag.Bytes);
    l.text(x.constructor.name);
    bytes(l, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  } else if (Array.isArray(x)) {
    l.word(Tag.Array);
    l.word(x.length);
    for (const v of x) member(l, v);
  } else if (x instanceof Map) {
    l.word(Tag.Map);
    l.word(x.size);
    for (const [k, v] of x) {
      member(l, k);
      member(l, v);
    }
  } else if (x instanceof Set) {
    l.word(Tag.Set);
    l.word(x.size);
    for (const v of x) member(l, v);
  } else {
    l.word(Tag.Object);
    for (const k in x) {
      l.text(k);
      member(l, (x as Record<string, unknown>)[k]);
    }
  }
  const d = l.digest();
  DIGESTS.set(x, d);
  return d;
}

/** Bytes four at a time where they are aligned (config spaces and pages are). */
function bytes(l: Lanes, u: Uint8Array): void {
  const n = u.length;
  l.word(n);
  let i = 0;
  if (u.byteOffset % 4 === 0) {
    const words = new Int32Array(u.buffer, u.byteOffset, n >>> 2);
    for (; i < words.length; i++) l.word(words[i]);
    i *= 4;
  }
  for (; i < n; i++) l.word(u[i]);
}
