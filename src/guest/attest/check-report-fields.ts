/**
 * The report's remaining fields (PCIe 11.3.11): reserved bits are zero, and the locked
 * configuration (MSI-X Message Control, LNR Control, TPH Control, the device-specific
 * information, each range's attributes) is the one the policy names, where it names one.
 */
import { bytesEqual, toHex } from '../../wire/hex.ts';
import type { InterfaceReport, MmioRangeAttributes } from '../../wire/tdisp/report.ts';
import type { AttestationReason } from './evidence.ts';
import type { AttestationPolicy, RangeAttributeName } from './policy.ts';

const hex = (v: number) => `0x${v.toString(16)}`;
const ATTRIBUTES: RangeAttributeName[] = ['msixTable', 'msixPba', 'nonTee', 'updatable'];
const setOf = (a: MmioRangeAttributes) => ATTRIBUTES.filter((n) => a[n]).join(', ') || 'none';

export function checkReportFields(
  policy: AttestationPolicy,
  report: InterfaceReport,
): AttestationReason[] {
  const out: AttestationReason[] = [];
  const bad = (message: string) => out.push({ check: 'report-fields', message });
  if (report.reserved !== undefined) bad(`reserved bytes 2-3 are ${hex(report.reserved)}`);
  if (report.interfaceInfo.other !== undefined) {
    bad(`INTERFACE_INFO reserved bits ${hex(report.interfaceInfo.other)} set`);
  }
  report.mmioRanges.forEach((r, i) => {
    if (r.attributes.other !== undefined) {
      bad(`range ${i} RANGE_ATTRIBUTES reserved bits ${hex(r.attributes.other)} set`);
    }
  });
  const ref = policy.report.reference;
  for (const field of ['msixMessageControl', 'lnrControl', 'tphControl'] as const) {
    const want = ref[field];
    if (want !== undefined && report[field] !== want) {
      bad(`${field} is ${hex(report[field])}, the policy requires ${hex(want)}`);
    }
  }
  if (ref.deviceSpecificInfo && !bytesEqual(ref.deviceSpecificInfo, report.deviceSpecificInfo)) {
    bad(`device-specific information ${toHex(report.deviceSpecificInfo)} is not the reference`);
  }
  if (ref.ranges) {
    if (ref.ranges.length !== report.mmioRanges.length) {
      bad(`${report.mmioRanges.length} MMIO ranges, the policy lists ${ref.ranges.length}`);
    } else {
      ref.ranges.forEach((want, i) => {
        const got = report.mmioRanges[i].attributes;
        if (ATTRIBUTES.some((n) => got[n] !== want.attributes.includes(n))) {
          bad(
            `range ${i} attributes are ${setOf(got)}, the policy requires ${want.attributes.join(', ') || 'none'}`,
          );
        }
      });
    }
  }
  return out;
}
