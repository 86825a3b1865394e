/**
 * Reading the IDE Extended Capability register block (PCIe 6.x 7.9.26, the block QUERY_RESP
 * carries) for LOCK_INTERFACE_REQUEST's IDE checks (PCIe 11.3.8): the default stream must
 * not be configured in more than one IDE register block, and must use TC0. A stream no
 * block carries (flows that key streams without programming the registers, as spdm-emu
 * does) passes: there is nothing to contradict.
 */

// IDE Capability register.
const IDE_CAP_LINK_SUPPORTED = 0x1;
const IDE_CAP_SELECTIVE_SUPPORTED = 0x2;
const IDE_CAP_LINK_TC_NUM_SHIFT = 13;
const IDE_CAP_SEL_NUM_SHIFT = 16;
// Link / Selective IDE Stream Control registers.
const IDE_CTL_ENABLE = 0x1;
const IDE_CTL_TC_SHIFT = 19;
const IDE_CTL_TC_MASK = 0x7;
const IDE_CTL_STREAM_ID_SHIFT = 24;
// Selective IDE Stream Capability: number of Address Association register blocks.
const IDE_SEL_CAP_ADDR_BLOCKS_MASK = 0xf;
/** Dwords of a Selective block before its Address Association blocks (cap, ctl, sts, rid1, rid2). */
const SEL_BLOCK_FIXED_DWORDS = 5;
const SEL_ADDR_BLOCK_DWORDS = 3;
const LINK_BLOCK_DWORDS = 2;

export interface IdeStreamControl {
  kind: 'link' | 'selective';
  enabled: boolean;
  streamId: number;
  tc: number;
}

/** Every Link and Selective stream Control register of the block (stops where the block ends). */
export function streamControls(regs: readonly number[]): IdeStreamControl[] {
  const cap = regs[0] ?? 0;
  const link = cap & IDE_CAP_LINK_SUPPORTED ? ((cap >>> IDE_CAP_LINK_TC_NUM_SHIFT) & 0x7) + 1 : 0;
  const sel = cap & IDE_CAP_SELECTIVE_SUPPORTED ? ((cap >>> IDE_CAP_SEL_NUM_SHIFT) & 0xff) + 1 : 0;
  const out: IdeStreamControl[] = [];
  const control = (kind: IdeStreamControl['kind'], ctl: number): IdeStreamControl => ({
    kind,
    enabled: (ctl & IDE_CTL_ENABLE) !== 0,
    streamId: ctl >>> IDE_CTL_STREAM_ID_SHIFT,
    tc: (ctl >>> IDE_CTL_TC_SHIFT) & IDE_CTL_TC_MASK,
  });
  let i = 2;
  for (let n = 0; n < link && i < regs.length; n++, i += LINK_BLOCK_DWORDS) {
    out.push(control('link', regs[i]));
  }
  for (let n = 0; n < sel && i + 1 < regs.length; n++) {
    out.push(control('selective', regs[i + 1]));
    i += SEL_BLOCK_FIXED_DWORDS + SEL_ADDR_BLOCK_DWORDS * (regs[i] & IDE_SEL_CAP_ADDR_BLOCKS_MASK);
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
