/**
 * The union of every SPDM message teeio encodes and decodes, discriminated on `code`
 * (the SPDM RequestResponseCode, compared against the SPDM_* constants).
 * Each family lives in its own file; this file only gathers the types.
 */

/** Fields every SPDM message has. `version` is the SPDMVersion byte (0x10..0x14). */
export interface SpdmHeaderFields {
  version: number;
}

// Families add their message types to this union (one line each).
export type SpdmMessage = never;
