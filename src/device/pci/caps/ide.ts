/**
 * Integrity and Data Encryption extended capability (PCIe 6.33, registers 7.9.26) on
 * function 0, showing the stream state the DSM's IDE_KM responder owns.
 *
 * Model: a stream is Secure when the DSM's keys for it are started (K_SET_GO; the device
 * asks the DSM's policy, it keeps no copy) and the link is up. Register blocks are not
 * required for that, since spdm-emu style flows never program them, but they reflect it:
 * a block's Status shows Secure when its Enable is set and its Stream ID names a Secure
 * stream. A stream leaves Secure when the DSM stops it, on link down (keys are lost), or
 * when the host clears the Enable bit of a block carrying it; each is IDE_STREAM_INSECURE
 * (emitted by the device to every function), on which the DSM drops the stream's keys. Changing another field of an enabled block whose stream is Secure
 * is SECURITY_CONFIG_CHANGE naming the register. FLR leaves this capability alone: the
 * IDE stream belongs to the link, not to one function's configuration.
 */
import {
  type CapAllocator,
  type ConfigSpace,
  defineReg,
  maskedWrite,
  rd,
  wr,
} from '../config-space.ts';
import {
  PCI_EXT_CAP_ID_IDE,
  PCI_IDE_CAP,
  PCI_IDE_CAP_IDE_KM,
  PCI_IDE_CAP_LINK,
  PCI_IDE_CAP_LINK_TC_NUM_SHIFT,
  PCI_IDE_CAP_SEL_NUM_SHIFT,
  PCI_IDE_CAP_SELECTIVE,
  PCI_IDE_CAP_TEE_LIMITED,
  PCI_IDE_CTL,
  PCI_IDE_LINK_BLOCK_SIZE,
  PCI_IDE_LINK_CTL_0,
  PCI_IDE_LINK_CTL_EN,
  PCI_IDE_LINK_STREAM_0,
  PCI_IDE_LINK_STS_0,
  PCI_IDE_SEL_ADDR_1,
  PCI_IDE_SEL_BLOCK_SIZE,
  PCI_IDE_SEL_CAP,
  PCI_IDE_SEL_CTL,
  PCI_IDE_SEL_CTL_EN,
  PCI_IDE_SEL_CTL_ID_SHIFT,
  PCI_IDE_SEL_CTL_TEE_LIMITED,
  PCI_IDE_SEL_RID_1,
  PCI_IDE_SEL_RID_2,
  PCI_IDE_SEL_STS,
  PCI_IDE_SEL_STS_RECVD_INTEGRITY_CHECK,
  PCI_IDE_STATE_INSECURE,
  PCI_IDE_STATE_SECURE,
} from '../regs.ts';
import type { FnContext } from '../state.ts';

const IDE_CAP_VERSION = 1;
const CTL_TC = 0x00380000;
const CTL_ID = 0xff000000;
const SEL_CTL_DEFAULT = 0x00400000;

export type StreamState = 'Secure' | 'Insecure';

export interface IdeOptions {
  linkStreams?: number;
  selectiveStreams?: number;
  addressBlocks?: number;
  teeLimited?: boolean;
}

export interface IdeLayout {
  offset: number;
  linkStreams: number;
  selectiveStreams: number;
  addressBlocks: number;
}

/** The link's own state; which streams are keyed is the DSM's. */
export interface IdeState {
  linkUp: boolean;
}

export function newIdeState(): IdeState {
  return { linkUp: true };
}

/** Stream IDs run 0..255 (the Stream ID field of IDE Control is 8 bits). */
export const IDE_STREAM_IDS: readonly number[] = Array.from({ length: 256 }, (_, i) => i);

export const linkBlock = (l: IdeLayout, i: number): number =>
  l.offset + PCI_IDE_LINK_STREAM_0 + i * PCI_IDE_LINK_BLOCK_SIZE;

export const selBlock = (l: IdeLayout, i: number): number =>
  l.offset +
  PCI_IDE_LINK_STREAM_0 +
  l.linkStreams * PCI_IDE_LINK_BLOCK_SIZE +
  i * PCI_IDE_SEL_BLOCK_SIZE(l.addressBlocks);

export function installIde(cs: ConfigSpace, alloc: CapAllocator, o: IdeOptions): IdeLayout {
  const l: IdeLayout = {
    offset: 0,
    linkStreams: o.linkStreams ?? 0,
    selectiveStreams: o.selectiveStreams ?? 0,
    addressBlocks: o.addressBlocks ?? 0,
  };
  const size =
    PCI_IDE_LINK_STREAM_0 +
    l.linkStreams * PCI_IDE_LINK_BLOCK_SIZE +
    l.selectiveStreams * PCI_IDE_SEL_BLOCK_SIZE(l.addressBlocks);
  l.offset = alloc.addExt(PCI_EXT_CAP_ID_IDE, IDE_CAP_VERSION, size);
  let cap = PCI_IDE_CAP_IDE_KM; // algorithm field 0: AES-GCM 256, 96-bit MAC
  if (l.linkStreams > 0)
    cap |= PCI_IDE_CAP_LINK | ((l.linkStreams - 1) << PCI_IDE_CAP_LINK_TC_NUM_SHIFT);
  if (l.selectiveStreams > 0) {
    cap |= PCI_IDE_CAP_SELECTIVE | ((l.selectiveStreams - 1) << PCI_IDE_CAP_SEL_NUM_SHIFT);
    if (o.teeLimited) cap |= PCI_IDE_CAP_TEE_LIMITED;
  }
  defineReg(cs, l.offset + PCI_IDE_CAP, 4, cap >>> 0);
  defineReg(cs, l.offset + PCI_IDE_CTL, 4, 0);
  for (let i = 0; i < l.linkStreams; i++) {
    const b = linkBlock(l, i);
    defineReg(cs, b + PCI_IDE_LINK_CTL_0, 4, 0, (PCI_IDE_LINK_CTL_EN | CTL_TC | CTL_ID) >>> 0);
    defineReg(cs, b + PCI_IDE_LINK_STS_0, 4, 0, 0, PCI_IDE_SEL_STS_RECVD_INTEGRITY_CHECK);
  }
  for (let i = 0; i < l.selectiveStreams; i++) {
    const b = selBlock(l, i);
    const ctlRw =
      PCI_IDE_SEL_CTL_EN |
      CTL_TC |
      SEL_CTL_DEFAULT |
      CTL_ID |
      (o.teeLimited ? PCI_IDE_SEL_CTL_TEE_LIMITED : 0);
    defineReg(cs, b + PCI_IDE_SEL_CAP, 4, l.addressBlocks);
    defineReg(cs, b + PCI_IDE_SEL_CTL, 4, 0, ctlRw >>> 0);
    defineReg(cs, b + PCI_IDE_SEL_STS, 4, 0, 0, PCI_IDE_SEL_STS_RECVD_INTEGRITY_CHECK);
    defineReg(cs, b + PCI_IDE_SEL_RID_1, 4, 0, 0x00ffff00);
    defineReg(cs, b + PCI_IDE_SEL_RID_2, 4, 0, 0xffffff01);
    for (let a = 0; a < l.addressBlocks; a++) {
      defineReg(cs, b + PCI_IDE_SEL_ADDR_1(a), 4, 0, 0xffffff01);
      defineReg(cs, b + PCI_IDE_SEL_ADDR_1(a) + 4, 4, 0, 0xffffffff);
      defineReg(cs, b + PCI_IDE_SEL_ADDR_1(a) + 8, 4, 0, 0xffffffff);
    }
  }
  return l;
}

/** Stream IDs currently Secure, given who owns the key state. */
export function secureStreams(ide: IdeState, keyed: (streamId: number) => boolean): number[] {
  return ide.linkUp ? IDE_STREAM_IDS.filter(keyed) : [];
}

interface Block {
  kind: 'link' | 'sel';
  base: number;
  /** Offset of the Control register; Status follows 4 bytes later. */
  ctl: number;
  sts: number;
  end: number;
}

function blockAt(l: IdeLayout, off: number): Block | undefined {
  for (let i = 0; i < l.linkStreams; i++) {
    const b = linkBlock(l, i);
    if (off >= b && off < b + PCI_IDE_LINK_BLOCK_SIZE) {
      return {
        kind: 'link',
        base: b,
        ctl: b + PCI_IDE_LINK_CTL_0,
        sts: b + PCI_IDE_LINK_STS_0,
        end: b + 8,
      };
    }
  }
  const size = PCI_IDE_SEL_BLOCK_SIZE(l.addressBlocks);
  for (let i = 0; i < l.selectiveStreams; i++) {
    const b = selBlock(l, i);
    if (off >= b && off < b + size) {
      return {
        kind: 'sel',
        base: b,
        ctl: b + PCI_IDE_SEL_CTL,
        sts: b + PCI_IDE_SEL_STS,
        end: b + size,
      };
    }
  }
  return undefined;
}

function regName(blk: Block, reg: number): string {
  if (blk.kind === 'link') return 'PCI_IDE_LINK_CTL';
  const rel = reg - blk.base;
  if (rel === PCI_IDE_SEL_CTL) return 'PCI_IDE_SEL_CTL';
  if (rel === PCI_IDE_SEL_RID_1) return 'PCI_IDE_SEL_RID_1';
  if (rel === PCI_IDE_SEL_RID_2) return 'PCI_IDE_SEL_RID_2';
  const a = Math.floor((rel - PCI_IDE_SEL_ADDR_1(0)) / 12);
  return `PCI_IDE_SEL_ADDR_${((rel - PCI_IDE_SEL_ADDR_1(0)) % 12) / 4 + 1}(${a})`;
}

/** Host config read: the Status registers show the live stream state. */
export function ideRead(ctx: FnContext, off: number, _size: number): void {
  const l = ctx.fs.caps.ide!;
  const blk = blockAt(l, off);
  if (!blk) return;
  const ctl = rd(ctx.fs.cs.bytes, blk.ctl, 4);
  const secure =
    !!(ctl & PCI_IDE_SEL_CTL_EN) && ctx.dev.streamSecure(ctl >>> PCI_IDE_SEL_CTL_ID_SHIFT);
  const sts = rd(ctx.fs.cs.bytes, blk.sts, 4) & ~0xf;
  wr(
    ctx.fs.cs.bytes,
    blk.sts,
    4,
    (sts | (secure ? PCI_IDE_STATE_SECURE : PCI_IDE_STATE_INSECURE)) >>> 0,
  );
}

export function ideWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  const l = fs.caps.ide!;
  const blk = blockAt(l, off);
  if (!blk) {
    maskedWrite(fs.cs, off, size, value); // IDE Capability / IDE Control: read-only here
    return;
  }
  const reg = off & ~3;
  const ctlBefore = rd(fs.cs.bytes, blk.ctl, 4);
  const regBefore = rd(fs.cs.bytes, reg, 4);
  maskedWrite(fs.cs, off, size, value);
  const enabled = !!(ctlBefore & PCI_IDE_SEL_CTL_EN);
  const id = ctlBefore >>> PCI_IDE_SEL_CTL_ID_SHIFT;
  if (reg === blk.ctl && enabled) {
    // TEE-Limited Stream is sampled at enable and read-only while enabled.
    const now = rd(fs.cs.bytes, reg, 4);
    const kept =
      ((now & ~PCI_IDE_SEL_CTL_TEE_LIMITED) | (ctlBefore & PCI_IDE_SEL_CTL_TEE_LIMITED)) >>> 0;
    wr(fs.cs.bytes, reg, 4, kept);
  }
  if (!enabled || !dev.streamSecure(id) || reg === blk.sts) return;
  const after = rd(fs.cs.bytes, reg, 4);
  if (reg === blk.ctl && !(after & PCI_IDE_SEL_CTL_EN)) {
    dev.streamsLeftSecure([id]);
  } else if (after !== regBefore) {
    const register = regName(blk, reg);
    for (const f of dev.state.functions.values()) {
      dev.emit(f.fn, { kind: 'SECURITY_CONFIG_CHANGE', register });
    }
  }
}
