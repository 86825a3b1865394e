/**
 * The device's measurement blocks (DSP0274 10.11, DMTF measurement specification) against
 * the policy's reference values, per index: a digest under its hash algorithm (a raw
 * bit-stream block is hashed to compare) or a raw value, and the value type when given.
 */
import { digest, HASH_SIZE } from '../../crypto/hash.ts';
import { bytesEqual, toHex } from '../../wire/hex.ts';
import type { MeasurementBlock } from '../../wire/spdm/measurements.ts';
import type { AttestationEvidence, AttestationReason } from './evidence.ts';
import type { AttestationPolicy, ReferenceMeasurement } from './policy.ts';

const short = (b: Uint8Array) => (b.length > 16 ? `${toHex(b.subarray(0, 16))}..` : toHex(b));

/** What is wrong with one block against its reference, or undefined. */
function mismatch(ref: ReferenceMeasurement, b: MeasurementBlock): string | undefined {
  const at = `measurement ${ref.index}`;
  if (b.kind !== 'dmtf') {
    return `${at} is in measurement specification ${b.measurementSpecification}, not DMTF`;
  }
  if (ref.valueType !== undefined && b.valueType !== ref.valueType) {
    return `${at} has value type ${b.valueType}, the reference ${ref.valueType}`;
  }
  if (ref.raw) {
    if (!b.rawBitStream) return `${at} is a digest, the reference a raw value`;
    if (!bytesEqual(b.value, ref.raw)) {
      return `${at} raw value ${short(b.value)} is not the reference ${short(ref.raw)}`;
    }
    return undefined;
  }
  if (ref.digest) {
    const { hash, value } = ref.digest;
    if (!b.rawBitStream && b.value.length !== HASH_SIZE[hash]) {
      return `${at} is a ${b.value.length}-byte digest, not ${hash}`;
    }
    const got = b.rawBitStream ? digest(hash, b.value) : b.value;
    if (!bytesEqual(got, value)) {
      return `${at} ${hash} ${short(got)} is not the reference ${short(value)}`;
    }
  }
  return undefined;
}

export function checkMeasurements(
  policy: AttestationPolicy,
  evidence: AttestationEvidence,
): AttestationReason[] {
  const out: AttestationReason[] = [];
  const byIndex = new Map<number, MeasurementBlock[]>();
  for (const b of evidence.measurements) byIndex.set(b.index, [...(byIndex.get(b.index) ?? []), b]);
  for (const ref of policy.measurements.reference) {
    const blocks = byIndex.get(ref.index) ?? [];
    if (blocks.length !== 1) {
      const what = blocks.length ? `${blocks.length} blocks` : 'no block';
      out.push({ check: 'measurements', message: `measurement ${ref.index}: ${what}` });
      continue;
    }
    const m = mismatch(ref, blocks[0]);
    if (m) out.push({ check: 'measurements', message: m });
  }
  if (!policy.measurements.allowUnlisted) {
    const listed = new Set(policy.measurements.reference.map((r) => r.index));
    for (const index of byIndex.keys()) {
      if (!listed.has(index)) {
        out.push({ check: 'measurements', message: `measurement ${index} has no reference` });
      }
    }
  }
  return out;
}
