/**
 * The little DER (ITU-T X.690) teeio needs beyond @peculiar/x509: encoding and reading the
 * otherName and DMTF extension values of SPDM device certificates. Readers throw DerError on
 * malformed input; certificate verification turns that into a 'malformed' result.
 */
export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface Tlv {
  tag: number;
  /** Content bytes. */
  value: Uint8Array;
  /** Offset just past this TLV in the buffer it was read from. */
  end: number;
}

/**
 * Reads one TLV at `offset` (single-byte tags, definite lengths up to 4 bytes).
 * @throws DerError when the TLV is truncated or uses a form DER forbids.
 */
export function readTlv(buf: Uint8Array, offset = 0): Tlv {
  let p = offset;
  if (p + 2 > buf.length) throw new DerError(`TLV at ${offset} truncated`);
  const tag = buf[p++];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at ${offset}`);
  let len = buf[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) throw new DerError(`bad length at ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  if (p + len > buf.length) throw new DerError(`TLV at ${offset} runs past the end`);
  return { tag, value: buf.subarray(p, p + len), end: p + len };
}

/** The TLVs inside a constructed value, in order. @throws DerError on malformed content. */
export function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < value.length; ) {
    const t = readTlv(value, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Tag || length || concat(content). */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  const n = body.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  return new Uint8Array(Buffer.concat([Uint8Array.of(tag, ...len), body]));
}

export const sequence = (...c: Uint8Array[]) => tlv(0x30, ...c);
export const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
/** [n] EXPLICIT / constructed context tag. */
export const explicit = (n: number, ...c: Uint8Array[]) => tlv(0xa0 | n, ...c);

/** OBJECT IDENTIFIER TLV for a dotted OID. @throws RangeError on a malformed OID string. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (v: bigint) => {
    const groups = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Uint8Array.from(out));
}

/** Dotted form of an OBJECT IDENTIFIER's content bytes. @throws DerError when malformed. */
export function decodeOid(value: Uint8Array): string {
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < value.length; i++) {
    v = (v << 7n) | BigInt(value[i] & 0x7f);
    if (!(value[i] & 0x80)) {
      arcs.push(v);
      v = 0n;
    } else if (i === value.length - 1) throw new DerError('OID ends inside an arc');
  }
  if (!arcs.length) throw new DerError('empty OID');
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join('.');
}
