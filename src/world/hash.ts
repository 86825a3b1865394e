/**
 * A canonical hash of plain-data state (DESIGN.md principle 2: a world can be snapshotted,
 * cloned, hashed and replayed; the explorer keys visited states by it). SHA-256 over a
 * canonical encoding in which equal states are equal bytes however they were reached:
 *
 * - object properties in sorted key order, a property holding `undefined` the same as an
 *   absent one;
 * - Map entries and Set members sorted by their own canonical encoding, so insertion order
 *   does not matter;
 * - every value tagged with its type and every variable-length part length-prefixed, so
 *   different states never concatenate to the same bytes.
 *
 * What "equal" means for a component's data is that component's job: device memory, for
 * instance, drops a page that reads all zero (pci/memory.ts), so a freed page and a page
 * never written are the same Map.
 */
import { digest } from '../crypto/hash.ts';

const Tag = {
  Undefined: 0,
  Null: 1,
  False: 2,
  True: 3,
  Number: 4,
  BigInt: 5,
  String: 6,
  Bytes: 7,
  Array: 8,
  Object: 9,
  Map: 10,
  Set: 11,
  TypedArray: 12,
  Date: 13,
} as const;
type Tag = (typeof Tag)[keyof typeof Tag];

const utf8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

class Encoder {
  private readonly parts: Uint8Array[] = [];

  bytes(): Uint8Array {
    const b = Buffer.concat(this.parts);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  private tag(t: Tag): void {
    this.parts.push(Uint8Array.of(t));
  }

  private u32(n: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    this.parts.push(b);
  }

  private blob(b: Uint8Array): void {
    this.u32(b.length);
    this.parts.push(b);
  }

  /** Sorted, length-prefixed encodings of a collection's members (Map entries, Set members). */
  private sorted(members: Uint8Array[]): void {
    members.sort(compareBytes);
    this.u32(members.length);
    for (const m of members) this.blob(m);
  }

  value(v: unknown, path: string): void {
    switch (typeof v) {
      case 'undefined':
        this.tag(Tag.Undefined);
        return;
      case 'boolean':
        this.tag(v ? Tag.True : Tag.False);
        return;
      case 'number': {
        this.tag(Tag.Number);
        const b = new Uint8Array(8);
        // One NaN: its bit patterns are not observable state.
        new DataView(b.buffer).setFloat64(0, Number.isNaN(v) ? Number.NaN : v);
        this.parts.push(b);
        return;
      }
      case 'bigint':
        this.tag(Tag.BigInt);
        this.blob(utf8.encode(v.toString(16)));
        return;
      case 'string':
        this.tag(Tag.String);
        this.blob(utf8.encode(v));
        return;
      case 'object':
        this.object(v, path);
        return;
      default:
        throw new TypeError(`${path}: a ${typeof v} is not plain data`);
    }
  }

  private object(v: object | null, path: string): void {
    if (v === null) {
      this.tag(Tag.Null);
      return;
    }
    if (v instanceof Uint8Array) {
      this.tag(Tag.Bytes);
      this.blob(v);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      // Other typed arrays and DataViews: the element type is part of the value.
      this.tag(Tag.TypedArray);
      this.blob(utf8.encode(v.constructor.name));
      this.blob(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return;
    }
    if (v instanceof ArrayBuffer) {
      this.tag(Tag.TypedArray);
      this.blob(utf8.encode('ArrayBuffer'));
      this.blob(new Uint8Array(v));
      return;
    }
    if (Array.isArray(v)) {
      this.tag(Tag.Array);
      this.u32(v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i], `${path}[${i}]`);
      return;
    }
    if (v instanceof Map) {
      this.tag(Tag.Map);
      this.sorted(
        [...v].map(([k, x]) => {
          const e = new Encoder();
          e.value(k, `${path} key`);
          e.value(x, `${path}.get(${String(k)})`);
          return e.bytes();
        }),
      );
      return;
    }
    if (v instanceof Set) {
      this.tag(Tag.Set);
      this.sorted([...v].map((x) => canonicalEncoding(x, `${path} member`)));
      return;
    }
    if (v instanceof Date) {
      this.tag(Tag.Date);
      this.value(v.getTime(), path);
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `${path}: a ${proto?.constructor?.name ?? 'class'} instance is not plain data`,
      );
    }
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec)
      .filter((k) => rec[k] !== undefined)
      .sort();
    this.tag(Tag.Object);
    this.u32(keys.length);
    for (const k of keys) {
      this.blob(utf8.encode(k));
      this.value(rec[k], `${path}.${k}`);
    }
  }
}

/**
 * The canonical bytes of a plain-data value.
 * @throws TypeError naming the path of a function, symbol or class instance (not plain data).
 */
export function canonicalEncoding(value: unknown, path = '$'): Uint8Array {
  const e = new Encoder();
  e.value(value, path);
  return e.bytes();
}

/**
 * SHA-256 of the canonical encoding, as lowercase hex: equal for equal states whatever
 * the insertion order of their maps, sets and properties.
 * @throws TypeError when the value is not plain data (see canonicalEncoding).
 */
export function canonicalHash(value: unknown): string {
  return Buffer.from(digest('sha256', canonicalEncoding(value))).toString('hex');
}
