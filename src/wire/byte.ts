/**
 * `Byte`: the literal union 0..255, for the code field of a protocol's unknown-message case
 * (`Exclude<Byte, KnownCodes>`), so that comparing `code` against a known constant narrows
 * to that message type alone.
 */
type Enumerate<N extends number, Acc extends number[] = []> = Acc['length'] extends N
  ? Acc[number]
  : Enumerate<N, [...Acc, Acc['length']]>;

export type Byte = Enumerate<256>;
