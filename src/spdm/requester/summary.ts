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
import type { RequesterContext } from './context.ts';
import { SpdmVerifyError } from './errors.ts';
import type { PendingSummary } from './state.ts';

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
  ctx: RequesterContext,
  hash: HashAlg,
  blocks: readonly MeasurementBlock[],
  p: PendingSummary,
): void {
  const expected = measurementSummaryHash(hash, p.type, blocks);
  const ok = bytesEqual(expected, p.hash);
  ctx.verified('measurement-summary-hash', ok, p.sessionId);
  if (ok) return;
  throw new SpdmVerifyError(
    'measurement-summary-hash',
    `${p.source === 'challenge' ? 'CHALLENGE_AUTH' : 'KEY_EXCHANGE_RSP'} summary ${toHex(p.hash)} is not the hash ${toHex(expected)} of the measurements`,
  );
}

/**
 * Checks a received summary now when the measurements are known, else keeps it for later.
 * @throws SpdmVerifyError 'measurement-summary-hash' on a mismatch.
 */
export function checkSummary(ctx: RequesterContext, hash: HashAlg, p: PendingSummary): void {
  if (ctx.data.measurements) check(ctx, hash, ctx.data.measurements, p);
  else ctx.data.pendingSummaries.push(p);
}

/**
 * Checks every waiting summary against the blocks just read (then forgets them).
 * @throws SpdmVerifyError 'measurement-summary-hash' on the first mismatch.
 */
export function settleSummaries(ctx: RequesterContext, hash: HashAlg): void {
  const blocks = ctx.data.measurements;
  if (!blocks) return;
  const waiting = ctx.data.pendingSummaries.splice(0);
  for (const p of waiting) check(ctx, hash, blocks, p);
}

/**
 * After a waiting summary failed: the sessions opened on a summary that waited cannot be
 * trusted (the failed one's, and those whose summaries were not checked), and nothing
 * waits any more.
 */
export function dropUnsettledSessions(ctx: RequesterContext): void {
  for (const p of ctx.data.pendingSummaries.splice(0)) {
    if (p.sessionId !== undefined) ctx.dropSession(p.sessionId, 'reset');
  }
}
