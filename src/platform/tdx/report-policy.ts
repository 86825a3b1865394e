/**
 * What TDX Connect refuses in a TDI's DEVICE_INTERFACE_REPORT (PCIe 6.x 11.3.11), as the
 * TDX module checks the report's first portion when TDH.DEVIF.RESPONSE processes it
 * (intel/tdx-module src/common/tdxio/tdisp.c, check_report_interface_info and
 * check_report_control): DMA must be without PASID only (INTERFACE_INFO bit 1 set, bit 2
 * clear), ATS and PRS not enabled (bits 3 and 4), and MSI_X_MESSAGE_CONTROL, LNR_CONTROL
 * and TPH_CONTROL all zero. The module never sets LOCK_MSIX in its LOCK_INTERFACE_REQUEST,
 * so a device that still reports MSI-X or TPH control is not describing the state it locked.
 *
 * PASID, ATS and PRS are read from the report's INTERFACE_INFO, which the DSM fills from the
 * TDI's configuration at LOCK (device/dsm/interface-report.ts): the TSM has no other view of
 * the TDI's config space that the host could not forge.
 */
import type { InterfaceReport } from '../../wire/tdisp/report.ts';

/** Why the report is refused, or undefined when TDX Connect accepts it. */
export function reportRefusal(r: InterfaceReport): string | undefined {
  const i = r.interfaceInfo;
  const why: string[] = [];
  if (!i.dmaWithoutPasid) why.push('DMA without PASID not reported');
  if (i.dmaWithPasid) why.push('DMA with PASID enabled');
  if (i.atsSupported) why.push('ATS enabled');
  if (i.prsSupported) why.push('PRS enabled');
  if (r.msixMessageControl !== 0) {
    why.push(`MSI_X_MESSAGE_CONTROL 0x${r.msixMessageControl.toString(16)}`);
  }
  if (r.lnrControl !== 0) why.push(`LNR_CONTROL 0x${r.lnrControl.toString(16)}`);
  if (r.tphControl !== 0) why.push(`TPH_CONTROL 0x${r.tphControl.toString(16)}`);
  return why.length ? why.join('; ') : undefined;
}
