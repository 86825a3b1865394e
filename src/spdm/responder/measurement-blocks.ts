/**
 * The responder's measurement blocks (DSP0274 1.3 section 10.11.1 "Measurement block",
 * DMTF measurement specification) and the measurement summary hash of CHALLENGE_AUTH /
 * KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP, as libspdm computes it
 * (libspdm_generate_measurement_summary_hash): the base hash of the concatenated blocks,
 * each as served by "all measurements" without the raw bit stream; the TCB summary keeps
 * only IMMUTABLE_ROM blocks (or the ones the config marks `tcb`).
 */
import { digest, type HashAlg } from '../../crypto/hash.ts';
import { MEAS_HASH_FROM_SPDM } from '../../crypto/suite.ts';
import {
  SPDM_CAP,
  SPDM_DMTF_MEAS_TYPE,
  SPDM_MEAS_HASH,
  SPDM_MEAS_SUMMARY_ALL,
  SPDM_MEAS_SUMMARY_NONE,
  SPDM_MEAS_SUMMARY_TCB,
} from '../../wire/spdm/constants.ts';
import {
  type DmtfMeasurementBlock,
  encodeMeasurementRecord,
} from '../../wire/spdm/measurements.ts';
import type { MeasurementBlockConfig } from '../config.ts';
import type { ResponderContext } from './context.ts';

/**
 * The blocks to serve, in index order.
 * @param measurementHashAlgo the MeasurementHashAlgo bit ALGORITHMS selected
 * @param raw the requester asked for the raw bit stream
 */
export function servedBlocks(
  measurements: readonly MeasurementBlockConfig[],
  measurementHashAlgo: number,
  raw: boolean,
): DmtfMeasurementBlock[] {
  const alg = MEAS_HASH_FROM_SPDM[measurementHashAlgo];
  const rawOnly = measurementHashAlgo === SPDM_MEAS_HASH.RAW_BIT_STREAM_ONLY || alg === undefined;
  return [...measurements]
    .sort((x, y) => x.index - y.index)
    .map((m) => {
      const asRaw = raw || rawOnly || m.alwaysRaw === true;
      return {
        kind: 'dmtf',
        index: m.index,
        valueType: m.valueType & 0x7f,
        rawBitStream: asRaw,
        value: asRaw ? m.value.slice() : digest(alg as HashAlg, m.value),
      };
    });
}

/** True when a block belongs to the TCB summary. */
function inTcb(m: MeasurementBlockConfig): boolean {
  return m.tcb ?? (m.valueType & 0x7f) === SPDM_DMTF_MEAS_TYPE.IMMUTABLE_ROM;
}

/** True for the summary hash types DSP0274 defines (none, TCB, all). */
export function isSummaryHashType(type: number): boolean {
  return (
    type === SPDM_MEAS_SUMMARY_NONE ||
    type === SPDM_MEAS_SUMMARY_TCB ||
    type === SPDM_MEAS_SUMMARY_ALL
  );
}

/**
 * True when CHALLENGE / KEY_EXCHANGE / PSK_EXCHANGE may ask for this summary hash type: one
 * DSP0274 defines, and other than none only when we advertise MEAS_CAP and ALGORITHMS
 * selected a MeasurementHashAlgo (libspdm answers InvalidRequest otherwise).
 */
export function summaryHashTypeServable(ctx: ResponderContext, type: number): boolean {
  if (!isSummaryHashType(type)) return false;
  return (
    type === SPDM_MEAS_SUMMARY_NONE ||
    (ctx.weSupport(SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG) &&
      ctx.negotiated().algorithms.measurementHashAlgo !== 0)
  );
}

/**
 * The MeasurementSummaryHash for `type` (undefined for type 0).
 * @throws RangeError for a type other than 0, 1 and 0xFF (callers reject those first).
 */
export function measurementSummaryHash(
  measurements: readonly MeasurementBlockConfig[],
  measurementHashAlgo: number,
  baseHash: HashAlg,
  type: number,
): Uint8Array | undefined {
  if (type === SPDM_MEAS_SUMMARY_NONE) return undefined;
  if (!isSummaryHashType(type)) throw new RangeError(`summary hash type 0x${type.toString(16)}`);
  const chosen = type === SPDM_MEAS_SUMMARY_TCB ? measurements.filter(inTcb) : measurements;
  const record = encodeMeasurementRecord(servedBlocks(chosen, measurementHashAlgo, false));
  return digest(baseHash, record);
}

/**
 * The MeasurementSummaryHash of CHALLENGE_AUTH / KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP for
 * `type`, over the configured blocks with the negotiated algorithms.
 * @throws RangeError for a type `summaryHashTypeServable` refuses.
 */
export function responseSummaryHash(ctx: ResponderContext, type: number): Uint8Array | undefined {
  const a = ctx.negotiated().algorithms;
  return measurementSummaryHash(ctx.config.measurements, a.measurementHashAlgo, a.suite.hash, type);
}
