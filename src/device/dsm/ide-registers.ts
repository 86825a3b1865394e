/**
 * Reading the IDE Extended Capability register block (PCIe 6.x 7.9.26, the block QUERY_RESP
 * carries) for LOCK_INTERFACE_REQUEST's IDE checks (PCIe 11.3.8): the default stream must
 * not be configured in more than one IDE register block, and must use TC0. A stream no
 * block carries (flows that key streams without programming the registers, as spdm-emu
 * does) passes: there is nothing to contradict.
 */
import {
  PCI_IDE_CAP_LINK,
  PCI_IDE_CAP_LINK_TC_NUM_SHIFT,
  PCI_IDE_CAP_SEL_NUM_SHIFT,
  PCI_IDE_CAP_SELECTIVE,
  PCI_IDE_LINK_BLOCK_SIZE,
  PCI_IDE_SEL_ADDR_BLOCK_SIZE,
  PCI_IDE_SEL_CAP_ASSOC_MASK,
  PCI_IDE_SEL_CTL_EN,
  PCI_IDE_SEL_CTL_ID_SHIFT,
  PCI_IDE_SEL_CTL_TC_MASK,
  PCI_IDE_SEL_CTL_TC_SHIFT,
  PCI_IDE_SEL_RID_2,
} from '../pci/regs.ts';

/** Dwords of a Link IDE stream block (control, status). */
const LINK_BLOCK_DWORDS = PCI_IDE_LINK_BLOCK_SIZE / 4;
/** Dwords of a Selective block before its Address Association blocks (cap, ctl, sts, rid1, rid2). */
const SEL_BLOCK_FIXED_DWORDS = (PCI_IDE_SEL_RID_2 + 4) / 4;
const SEL_ADDR_BLOCK_DWORDS = PCI_IDE_SEL_ADDR_BLOCK_SIZE / 4;

export interface IdeStreamControl {
  kind: 'link' | 'selective';
  enabled: boolean;
  streamId: number;
  tc: number;
}

/** Every Link and Selective stream Control register of the block (stops where the block ends). */
export function streamControls(regs: readonly number[]): IdeStreamControl[] {
  const cap = regs[0] ?? 0;
  const link = cap & PCI_IDE_CAP_LINK ? ((cap >>> PCI_IDE_CAP_LINK_TC_NUM_SHIFT) & 0x7) + 1 : 0;
  const sel = cap & PCI_IDE_CAP_SELECTIVE ? ((cap >>> PCI_IDE_CAP_SEL_NUM_SHIFT) & 0xff) + 1 : 0;
  const out: IdeStreamControl[] = [];
  const control = (kind: IdeStreamControl['kind'], ctl: number): IdeStreamControl => ({
    kind,
    enabled: (ctl & PCI_IDE_SEL_CTL_EN) !== 0, // the same bit 0 in Link Stream Control
    streamId: ctl >>> PCI_IDE_SEL_CTL_ID_SHIFT,
    tc: (ctl >>> PCI_IDE_SEL_CTL_TC_SHIFT) & PCI_IDE_SEL_CTL_TC_MASK,
  });
  let i = 2;
  for (let n = 0; n < link && i < regs.length; n++, i += LINK_BLOCK_DWORDS) {
    out.push(control('link', regs[i]));
  }
  for (let n = 0; n < sel && i + 1 < regs.length; n++) {
    out.push(control('selective', regs[i + 1]));
    i += SEL_BLOCK_FIXED_DWORDS + SEL_ADDR_BLOCK_DWORDS * (regs[i] & PCI_IDE_SEL_CAP_ASSOC_MASK);
  }
  return out;
}

/**
 * Why the register configuration of `streamId` forbids locking onto it, or undefined:
 * more than one enabled block carries it, or its block uses a TC other than TC0.
 */
export function defaultStreamProblem(
  regs: readonly number[],
  streamId: number,
): string | undefined {
  const blocks = streamControls(regs).filter((c) => c.enabled && c.streamId === streamId);
  if (blocks.length > 1)
    return `stream ${streamId} is configured in ${blocks.length} IDE register blocks`;
  if (blocks.length === 1 && blocks[0].tc !== 0) return `stream ${streamId} uses TC${blocks[0].tc}`;
  return undefined;
}
