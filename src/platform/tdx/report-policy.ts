/**
 * What TDX Connect refuses in a TDI's DEVICE_INTERFACE_REPORT (PCIe 6.x 11.3.11), as the
 * TDX module checks the report's first portion when TDH.DEVIF.RESPONSE processes it
 * (intel/tdx-module src/common/tdxio/tdisp.c, check_report_interface_info and
 * check_report_control): DMA must be without PASID only (INTERFACE_INFO bit 1 set, bit 2
 * clear), ATS and PRS not enabled (bits 3 and 4), and LNR_CONTROL zero.
 *
 * MSI_X_MESSAGE_CONTROL and TPH_CONTROL are reported only for a TDI locked with LOCK_MSIX
 * (PCIe 11.3.11: "must be Clear if ... the MSI-X table is not locked"). The module's own LOCK
 * never sets LOCK_MSIX, so there both must be zero and no range may be flagged MSI-X table or
 * PBA: a device that reports them is not describing the state it locked. Where the platform
 * makes the MSI-X table private (question 11, platform/switches.ts) the module asked for
 * LOCK_MSIX, and the locked MSI-X and TPH control are what it asked the device to vouch for.
 *
 * PASID, ATS and PRS are read from the report's INTERFACE_INFO, which the DSM fills from the
 * TDI's configuration at LOCK (device/dsm/interface-report.ts): the TSM has no other view of
 * the TDI's config space that the host could not forge.
 */
import { PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX } from '../../wire/tdisp/constants.ts';
import type { InterfaceReport } from '../../wire/tdisp/report.ts';

/**
 * Why the report is refused, or undefined when TDX Connect accepts it.
 * @param lockFlags the LOCK_INTERFACE_FLAGS the module locked the TDI with
 */
export function reportRefusal(r: InterfaceReport, lockFlags: number): string | undefined {
  const i = r.interfaceInfo;
  const why: string[] = [];
  if (!i.dmaWithoutPasid) why.push('DMA without PASID not reported');
  if (i.dmaWithPasid) why.push('DMA with PASID enabled');
  if (i.atsSupported) why.push('ATS enabled');
  if (i.prsSupported) why.push('PRS enabled');
  if (r.lnrControl !== 0) why.push(`LNR_CONTROL 0x${r.lnrControl.toString(16)}`);
  if ((lockFlags & PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX) === 0) {
    if (r.msixMessageControl !== 0) {
      why.push(`MSI_X_MESSAGE_CONTROL 0x${r.msixMessageControl.toString(16)} without LOCK_MSIX`);
    }
    if (r.tphControl !== 0)
      why.push(`TPH_CONTROL 0x${r.tphControl.toString(16)} without LOCK_MSIX`);
    const msix = r.mmioRanges.findIndex((m) => m.attributes.msixTable || m.attributes.msixPba);
    if (msix >= 0) why.push(`range ${msix} flagged MSI-X without LOCK_MSIX`);
  }
  return why.length ? why.join('; ') : undefined;
}
