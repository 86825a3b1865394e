/**
 * The one error every wire decoder throws on bad peer bytes.
 *
 * It names the protocol ("SPDM", "DOE", "TDISP", ...), the message ("CAPABILITIES"),
 * the field ("DataTransferSize"), the byte offset from the start of the structure the
 * caller handed to `decode`, and what kind of wrong it was. Responders map it to the
 * spec's error response; tools print it as one line.
 */
export type WireErrorKind =
  | 'truncated' // fewer bytes than the field needs
  | 'trailing' // bytes left over after the structure
  | 'reserved' // a must-be-zero field is not zero
  | 'bad-field' // a field holds a value the structure cannot have (bad length, unknown type)
  | 'too-large'; // a length the decoder refuses to allocate for

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly protocol: string,
    readonly msg: string,
    readonly field: string,
    readonly offset: number,
    readonly kind: WireErrorKind,
    readonly detail = '',
  ) {
    super(`${protocol} ${msg}: ${field} at byte ${offset}: ${kind}${detail ? ` (${detail})` : ''}`);
  }
}

/** True when `e` is a WireError (narrowing helper for callers that catch unknown). */
export function isWireError(e: unknown): e is WireError {
  return e instanceof WireError;
}
