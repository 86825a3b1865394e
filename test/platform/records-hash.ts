/**
 * The hash of a platform's records without the SPDM link state: a device exchange that fails
 * may legitimately end the session (the engine drops a session whose record may not have
 * reached the device), while every other record must stay as it was.
 */
import { canonicalHash } from '../../src/world/hash.ts';

export function recordsHash(p: { tsm: object }): string {
  return canonicalHash({ ...p, tsm: { ...p.tsm, links: undefined } });
}
