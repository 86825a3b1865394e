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
