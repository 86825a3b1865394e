/**
 * Measurement summary hashes (DSP0274 1.3 section 10.8 CHALLENGE_AUTH "MeasurementSummaryHash"
 * and 10.17 KEY_EXCHANGE_RSP): the hash of the measurement blocks a responder serves for
 * GET_MEASUREMENTS of all blocks in digest form, every whole block for "all", the
 * IMMUTABLE_ROM ones for "TCB" (libspdm's libspdm_generate_measurement_summary_hash).
 *
 * A requester can only check one once it knows those blocks. A summary that arrives first
 * (CHALLENGE before GET_MEASUREMENTS, as libspdm's requester orders them) waits here and is
 * checked as soon as the blocks are read.
 */
import { digest, type HashAlg } from '../../crypto/hash.ts';
import { bytesEqual, toHex } from '../../wire/hex.ts';
import {
  SPDM_DMTF_MEAS_TYPE,
  SPDM_MEAS_SUMMARY_ALL,
  SPDM_MEAS_SUMMARY_TCB,
} from '../../wire/spdm/constants.ts';
import { encodeMeasurementRecord, type MeasurementBlock } from '../../wire/spdm/measurements.ts';
import type { PendingSummary, RequesterCore } from './context.ts';
import { SpdmVerifyError } from './errors.ts';

/**
 * The summary hash of `blocks` (as served for "all blocks, digest form").
 * @throws RangeError for a type that is neither TCB nor all.
 */
export function measurementSummaryHash(
  hash: HashAlg,
  type: number,
  blocks: readonly MeasurementBlock[],
): Uint8Array {
  if (type !== SPDM_MEAS_SUMMARY_ALL && type !== SPDM_MEAS_SUMMARY_TCB) {
    throw new RangeError(`measurement summary hash type 0x${type.toString(16)}`);
  }
  const chosen = blocks.filter(
    (b) =>
      type === SPDM_MEAS_SUMMARY_ALL ||
      (b.kind === 'dmtf' && b.valueType === SPDM_DMTF_MEAS_TYPE.IMMUTABLE_ROM),
  );
  return digest(hash, encodeMeasurementRecord(chosen));
}

function check(
  core: RequesterCore,
  hash: HashAlg,
  blocks: readonly MeasurementBlock[],
  p: PendingSummary,
): void {
  const expected = measurementSummaryHash(hash, p.type, blocks);
  const ok = bytesEqual(expected, p.hash);
  core.verified('measurement-summary-hash', ok, p.sessionId);
  if (ok) return;
  // A session opened on a summary that does not hold cannot be trusted either.
  const s = p.sessionId === undefined ? undefined : core.sessions.get(p.sessionId);
  if (s) core.dropSession(s, 'reset');
  throw new SpdmVerifyError(
    'measurement-summary-hash',
    `${p.source === 'challenge' ? 'CHALLENGE_AUTH' : 'KEY_EXCHANGE_RSP'} summary ${toHex(p.hash)} is not the hash ${toHex(expected)} of the measurements`,
  );
}

/**
 * Checks a received summary now when the measurements are known, else keeps it for later.
 * @throws SpdmVerifyError 'measurement-summary-hash' on a mismatch.
 */
export function checkSummary(core: RequesterCore, hash: HashAlg, p: PendingSummary): void {
  if (core.measurements) check(core, hash, core.measurements, p);
  else core.pendingSummaries.push(p);
}

/**
 * Checks every waiting summary against the blocks just read (then forgets them).
 * @throws SpdmVerifyError 'measurement-summary-hash' on the first mismatch.
 */
export function settleSummaries(core: RequesterCore, hash: HashAlg): void {
  const blocks = core.measurements;
  if (!blocks) return;
  const waiting = core.pendingSummaries.splice(0);
  for (const p of waiting) check(core, hash, blocks, p);
}
