/**
 * The properties the policy requires of a locked TDI: INTERFACE_INFO bits of the report
 * (PCIe 11.3.11: no firmware update after lock, DMA with/without PASID, ATS, PRS, XT), the
 * LOCK_INTERFACE_FLAGS it was locked with (NO_FW_UPDATE, LOCK_MSIX, no BIND_P2P ...), and
 * no firmware update seen after LOCK.
 */
import { LOCK_INTERFACE_FLAGS } from '../../wire/tdisp/constants.ts';
import type { InterfaceReport } from '../../wire/tdisp/report.ts';
import type { AttestationEvidence, AttestationReason } from './evidence.ts';
import type { AttestationPolicy, InterfaceInfoFlag } from './policy.ts';

export function checkInterfaceInfo(
  policy: AttestationPolicy,
  report: InterfaceReport,
): AttestationReason[] {
  const out: AttestationReason[] = [];
  const want = policy.report.interfaceInfo;
  for (const flag of Object.keys(want) as InterfaceInfoFlag[]) {
    if (want[flag] !== undefined && report.interfaceInfo[flag] !== want[flag]) {
      out.push({
        check: 'interface-info',
        message: `INTERFACE_INFO ${flag} is ${report.interfaceInfo[flag]}, the policy requires ${want[flag]}`,
      });
    }
  }
  return out;
}

export function checkLockFlags(
  policy: AttestationPolicy,
  evidence: AttestationEvidence,
): AttestationReason[] {
  const out: AttestationReason[] = [];
  const flags = evidence.lockFlags;
  const hex = `0x${flags.toString(16)}`;
  for (const name of policy.report.lockFlags.required) {
    if ((flags & LOCK_INTERFACE_FLAGS[name]) === 0) {
      out.push({ check: 'lock-flags', message: `locked without ${name} (flags ${hex})` });
    }
  }
  for (const name of policy.report.lockFlags.forbidden) {
    if ((flags & LOCK_INTERFACE_FLAGS[name]) !== 0) {
      out.push({ check: 'lock-flags', message: `locked with ${name} (flags ${hex})` });
    }
  }
  return out;
}

export function checkFirmwareUpdate(
  policy: AttestationPolicy,
  evidence: AttestationEvidence,
): AttestationReason[] {
  if (!policy.report.refuseFirmwareUpdate || evidence.firmwareUpdatedAfterLock !== true) return [];
  return [{ check: 'firmware-update', message: 'device firmware was updated after LOCK' }];
}
