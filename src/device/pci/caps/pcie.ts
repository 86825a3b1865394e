/**
 * PCI Express capability (PCIe 7.5.3), version 2, Endpoint. Device Capabilities carries
 * Function Level Reset Capability (bit 28) and TEE-IO Supported (bit 30, the TDISP
 * marker). Device Control's Initiate Function Level Reset (bit 15) always reads 0; a 1
 * written there resets the function (PCIe 6.6.2) and is a TDISP ERROR trigger.
 */
import { type CapAllocator, type ConfigSpace, defineReg, maskedWrite } from '../config-space.ts';
import {
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  PCI_CAP_ID_EXP,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_EXT_TAG,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCAP_RBER,
  PCI_EXP_DEVCAP_TEE,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_AUX_PME,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_EXP_DEVCTL_CERE,
  PCI_EXP_DEVCTL_EXT_TAG,
  PCI_EXP_DEVCTL_FERE,
  PCI_EXP_DEVCTL_NFERE,
  PCI_EXP_DEVCTL_NOSNOOP_EN,
  PCI_EXP_DEVCTL_PAYLOAD,
  PCI_EXP_DEVCTL_READRQ,
  PCI_EXP_DEVCTL_READRQ_512B,
  PCI_EXP_DEVCTL_RELAX_EN,
  PCI_EXP_DEVCTL_URRE,
  PCI_EXP_DEVCTL2,
  PCI_EXP_DEVSTA,
  PCI_EXP_DEVSTA_CED,
  PCI_EXP_DEVSTA_FED,
  PCI_EXP_DEVSTA_NFED,
  PCI_EXP_DEVSTA_URD,
  PCI_EXP_FLAGS,
  PCI_EXP_LNKCAP,
  PCI_EXP_LNKCAP2,
  PCI_EXP_LNKCTL,
  PCI_EXP_LNKSTA,
  PCI_EXP_TYPE_ENDPOINT,
} from '../regs.ts';
import type { FnContext } from '../state.ts';

const MPS_256 = 1;
const LINK_GEN5_X16 = 0x5 | (16 << 4);

export interface PcieOptions {
  flr: boolean;
  teeIo: boolean;
  vf: boolean;
}

export function installPcie(cs: ConfigSpace, alloc: CapAllocator, o: PcieOptions): number {
  const off = alloc.addStd(PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);
  defineReg(cs, off + PCI_EXP_FLAGS, 2, 2 | (PCI_EXP_TYPE_ENDPOINT << 4));
  const devcap =
    MPS_256 |
    PCI_EXP_DEVCAP_EXT_TAG |
    PCI_EXP_DEVCAP_RBER |
    (o.flr ? PCI_EXP_DEVCAP_FLR : 0) |
    (o.teeIo ? PCI_EXP_DEVCAP_TEE : 0);
  defineReg(cs, off + PCI_EXP_DEVCAP, 4, devcap >>> 0);
  // A VF's error-reporting and payload controls are RsvdP (its PF's apply).
  const devctlRw = o.vf
    ? 0
    : PCI_EXP_DEVCTL_CERE |
      PCI_EXP_DEVCTL_NFERE |
      PCI_EXP_DEVCTL_FERE |
      PCI_EXP_DEVCTL_URRE |
      PCI_EXP_DEVCTL_RELAX_EN |
      PCI_EXP_DEVCTL_PAYLOAD |
      PCI_EXP_DEVCTL_EXT_TAG |
      PCI_EXP_DEVCTL_AUX_PME |
      PCI_EXP_DEVCTL_NOSNOOP_EN |
      PCI_EXP_DEVCTL_READRQ;
  const devctl = o.vf
    ? 0
    : PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ_512B;
  defineReg(cs, off + PCI_EXP_DEVCTL, 2, devctl, devctlRw);
  defineReg(
    cs,
    off + PCI_EXP_DEVSTA,
    2,
    0,
    0,
    PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD,
  );
  defineReg(cs, off + PCI_EXP_LNKCAP, 4, LINK_GEN5_X16);
  defineReg(cs, off + PCI_EXP_LNKCTL, 2, 0, o.vf ? 0 : 0x01c3);
  defineReg(cs, off + PCI_EXP_LNKSTA, 2, LINK_GEN5_X16 & 0x3ff);
  defineReg(cs, off + PCI_EXP_DEVCTL2, 2, 0, o.vf ? 0 : 0x001f);
  defineReg(cs, off + PCI_EXP_LNKCAP2, 4, 0x3e);
  return off;
}

export function pcieWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  maskedWrite(fs.cs, off, size, value);
  const devctl = fs.caps.pcie + PCI_EXP_DEVCTL;
  // Bit 15 of Device Control is in its upper byte; it only exists for FLR-capable functions.
  const hiByte = devctl + 1;
  if (off <= hiByte && hiByte < off + size) {
    const written = (value >>> ((hiByte - off) * 8)) & 0xff;
    const flrCapable = !!(
      fs.cs.bytes[fs.caps.pcie + PCI_EXP_DEVCAP + 3] &
      (PCI_EXP_DEVCAP_FLR >>> 24)
    );
    if (written & (PCI_EXP_DEVCTL_BCR_FLR >>> 8) && flrCapable) dev.functionLevelReset(fs);
  }
}
