/**
 * Growable little-endian writer. Encoders validate what they write (a value out of range
 * for its field is a programming error and throws RangeError, never silently truncates).
 */
const MAX = { 8: 0xff, 16: 0xffff, 24: 0xffffff, 32: 0xffffffff } as const;

export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  get length(): number {
    return this.pos;
  }

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private check(v: number, bits: 8 | 16 | 24 | 32, field: string): void {
    // `v >>> 0 === v` is a cheap "non-negative integer below 2^32" test on the hot path.
    if (v >>> 0 !== v || v > MAX[bits]) {
      throw new RangeError(`${field}: ${v} does not fit in u${bits}`);
    }
  }

  u8(v: number, field = 'u8'): this {
    this.check(v, 8, field);
    this.grow(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number, field = 'u16'): this {
    this.check(v, 16, field);
    this.grow(2);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = v >>> 8;
    return this;
  }

  u24(v: number, field = 'u24'): this {
    this.check(v, 24, field);
    this.grow(3);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v >>> 16;
    return this;
  }

  u32(v: number, field = 'u32'): this {
    this.check(v, 32, field);
    this.grow(4);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = v >>> 24;
    return this;
  }

  u64(v: bigint, field = 'u64'): this {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn)
      throw new RangeError(`${field}: ${v} does not fit in u64`);
    this.u32(Number(v & 0xffff_ffffn), field);
    this.u32(Number(v >> 32n), field);
    return this;
  }

  u16be(v: number, field = 'u16be'): this {
    this.check(v, 16, field);
    this.grow(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32be(v: number, field = 'u32be'): this {
    this.check(v, 32, field);
    this.grow(4);
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Writes exactly n bytes: b must have that length (a fixed-size field). */
  fixed(b: Uint8Array, n: number, field: string): this {
    if (b.length !== n) throw new RangeError(`${field}: expected ${n} bytes, got ${b.length}`);
    return this.bytes(b);
  }

  zeros(n: number): this {
    this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Patches a u16 LE at an earlier position (for length fields known only at the end). */
  patchU16(at: number, v: number, field = 'u16'): this {
    this.check(v, 16, field);
    this.buf[at] = v & 0xff;
    this.buf[at + 1] = v >>> 8;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
