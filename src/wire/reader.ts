/**
 * Bounds-checked little-endian reader over a Uint8Array.
 *
 * Every read names its field so that a short or malformed input becomes a WireError
 * that says where it broke. Offsets in errors are relative to `base` + the reader's
 * start, so a nested structure decoded from a slice still reports positions in the
 * outer message when the caller passes the slice's offset as `base`.
 */
import { WireError, type WireErrorKind } from './errors.ts';

export class Reader {
  private pos = 0;

  private readonly buf: Uint8Array;

  constructor(
    buf: Uint8Array,
    readonly protocol: string,
    public msg: string,
    private readonly base = 0,
  ) {
    // A plain Uint8Array view even of a Node Buffer, so that bytes() copies (Buffer's own
    // slice() would return a view into the caller's memory).
    this.buf =
      buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }

  /** Current position relative to the start of this reader's buffer. */
  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get length(): number {
    return this.buf.length;
  }

  /** Builds a WireError at the current position (or at `at`). */
  error(field: string, kind: WireErrorKind, detail = '', at = this.pos): WireError {
    return new WireError(this.protocol, this.msg, field, this.base + at, kind, detail);
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw this.error(field, 'truncated', `need ${n} byte(s), have ${this.buf.length - this.pos}`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.buf[this.pos] | (this.buf[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }

  u24(field: string): number {
    this.need(3, field);
    const v = this.buf[this.pos] | (this.buf[this.pos + 1] << 8) | (this.buf[this.pos + 2] << 16);
    this.pos += 3;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  u64(field: string): bigint {
    const lo = this.u32(field);
    const hi = this.u32(field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  u16be(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32be(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** A copy of the next n bytes (copies, so a decoded message never aliases peer buffers). */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Everything that is left. */
  rest(field: string): Uint8Array {
    return this.bytes(this.remaining, field);
  }

  /**
   * A reserved field whose value is kept so that it round-trips byte-exactly
   * (STYLE.md convention 4). Returns undefined when zero, so well-formed messages
   * carry no reserved noise; encoders write `value ?? 0`.
   */
  reservedU8(field: string): number | undefined {
    const v = this.u8(field);
    return v === 0 ? undefined : v;
  }

  reservedU16(field: string): number | undefined {
    const v = this.u16(field);
    return v === 0 ? undefined : v;
  }

  reservedU32(field: string): number | undefined {
    const v = this.u32(field);
    return v === 0 ? undefined : v;
  }

  /** Reserved run of n bytes kept for round-trip; undefined when all zero. */
  reservedBytes(n: number, field: string): Uint8Array | undefined {
    const v = this.bytes(n, field);
    return v.every((x) => x === 0) ? undefined : v;
  }

  /** A reserved field the spec says must be zero and that teeio refuses otherwise. */
  zero(n: number, field: string): void {
    const at = this.pos;
    const v = this.bytes(n, field);
    if (!v.every((x) => x === 0)) throw this.error(field, 'reserved', 'must be zero', at);
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw this.error('(end)', 'trailing', `${this.buf.length - this.pos} byte(s) left over`);
    }
  }
}
