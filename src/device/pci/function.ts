/**
 * Building one function's state from its profile (PCIe 7.5-7.9 layouts), the dispatch
 * table from a config-space region to the code that owns it, and resets (FLR, PCIe
 * 6.6.2; D3hot -> D0 without No_Soft_Reset, PCI PM 1.2 5.4.1).
 *
 * Layout: type 0 header, then PM (PFs), PCI Express and MSI-X in the standard list from
 * 0x40; extended capabilities from 0x100 in the order DOE, IDE (function 0 with a DSM),
 * SR-IOV, ATS, PRI, PASID, ARI, Resizable BAR, TPH, LNR.
 */
import { barTable } from './bar.ts';
import { ariWrite, installAri } from './caps/ari.ts';
import { atsWrite, installAts } from './caps/ats.ts';
import { doeAbort, doeRead, doeWrite, installDoe, newDoeState } from './caps/doe.ts';
import { ideRead, ideWrite, installIde } from './caps/ide.ts';
import { installLnr, lnrWrite } from './caps/lnr.ts';
import { installMsix, msixWrite, resetMsixTable } from './caps/msix.ts';
import { installPasid, pasidWrite } from './caps/pasid.ts';
import { installPcie, pcieWrite } from './caps/pcie.ts';
import { installPm, pmWrite } from './caps/pm.ts';
import { installPri, priWrite } from './caps/pri.ts';
import { installRebar, rebarWrite } from './caps/rebar.ts';
import { installSriov, sriovWrite } from './caps/sriov.ts';
import { installTph, tphWrite } from './caps/tph.ts';
import {
  CapAllocator,
  type ConfigSpace,
  cloneConfigSpace,
  maskedWrite,
  newConfigSpace,
  rd,
} from './config-space.ts';
import { headerWrite, installHeader } from './header.ts';
import { memZero, newMemory } from './memory.ts';
import type { CommonFunctionProfile, DeviceProfile, FunctionProfile } from './profile.ts';
import {
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  PCI_CAP_MSIX_SIZEOF,
  PCI_DOE_CAP_SIZEOF,
  PCI_EXT_CAP_ARI_SIZEOF,
  PCI_EXT_CAP_ATS_SIZEOF,
  PCI_EXT_CAP_LNR_SIZEOF,
  PCI_EXT_CAP_PASID_SIZEOF,
  PCI_EXT_CAP_PRI_SIZEOF,
  PCI_EXT_CAP_SRIOV_SIZEOF,
  PCI_IDE_LINK_BLOCK_SIZE,
  PCI_IDE_LINK_STREAM_0,
  PCI_IDE_SEL_BLOCK_SIZE,
  PCI_PM_SIZEOF,
  PCI_SRIOV_BAR,
  PCI_STD_HEADER_SIZEOF,
  PCI_TPH_BASE_SIZEOF,
} from './regs.ts';
import type { CapLayouts, FnContext, FunctionState, Region, RegionKind } from './state.ts';

type WriteFn = (ctx: FnContext, off: number, size: number, value: number) => void;
type ReadFn = (ctx: FnContext, off: number, size: number) => void;

/** Who handles a config access, by region. */
const HANDLERS: Record<RegionKind, { write: WriteFn; read?: ReadFn }> = {
  header: { write: headerWrite },
  pm: { write: pmWrite },
  pcie: { write: pcieWrite },
  msix: { write: msixWrite },
  doe: { write: doeWrite, read: doeRead },
  ide: { write: ideWrite, read: ideRead },
  sriov: { write: sriovWrite },
  ats: { write: atsWrite },
  pri: { write: priWrite },
  pasid: { write: pasidWrite },
  ari: { write: ariWrite },
  rebar: { write: rebarWrite },
  tph: { write: tphWrite },
  lnr: { write: lnrWrite },
};

function regionAt(fs: FunctionState, off: number): Region | undefined {
  for (const r of fs.regions) if (off >= r.start && off < r.end) return r;
  return undefined;
}

/** A host config read (access already checked): side effects first, then the bytes. */
export function functionConfigRead(ctx: FnContext, off: number, size: number): number {
  const r = regionAt(ctx.fs, off);
  if (r) HANDLERS[r.kind].read?.(ctx, off, size);
  return rd(ctx.fs.cs.bytes, off, size);
}

/** A host config write (access already checked). Unclaimed space is read-only zero. */
export function functionConfigWrite(
  ctx: FnContext,
  off: number,
  size: number,
  value: number,
): void {
  const r = regionAt(ctx.fs, off);
  if (r) HANDLERS[r.kind].write(ctx, off, size, value);
  else maskedWrite(ctx.fs.cs, off, size, value);
}

class Layout {
  readonly alloc: CapAllocator;
  readonly regions: Region[] = [{ kind: 'header', start: 0, end: PCI_STD_HEADER_SIZEOF }];
  constructor(readonly cs: ConfigSpace) {
    this.alloc = new CapAllocator(cs);
  }
  add(kind: RegionKind, start: number, size: number): number {
    this.regions.push({ kind, start, end: start + size });
    return start;
  }
}

/** Extended capabilities PFs and VFs share. */
function installCommonExt(
  lay: Layout,
  caps: CapLayouts,
  f: CommonFunctionProfile,
  nextFn: number,
): void {
  const { cs, alloc } = lay;
  if (f.ats) caps.ats = lay.add('ats', installAts(cs, alloc, f.ats), PCI_EXT_CAP_ATS_SIZEOF);
  if (f.pri) caps.pri = lay.add('pri', installPri(cs, alloc, f.pri), PCI_EXT_CAP_PRI_SIZEOF);
  if (f.pasid)
    caps.pasid = lay.add('pasid', installPasid(cs, alloc, f.pasid), PCI_EXT_CAP_PASID_SIZEOF);
  if (f.ari) caps.ari = lay.add('ari', installAri(cs, alloc, nextFn), PCI_EXT_CAP_ARI_SIZEOF);
}

function installTail(lay: Layout, caps: CapLayouts, f: CommonFunctionProfile): void {
  if (f.tph) caps.tph = lay.add('tph', installTph(lay.cs, lay.alloc), PCI_TPH_BASE_SIZEOF);
  if (f.lnr) caps.lnr = lay.add('lnr', installLnr(lay.cs, lay.alloc), PCI_EXT_CAP_LNR_SIZEOF);
}

function finish(fs: Omit<FunctionState, 'defaults' | 'memory' | 'defaultBars'>): FunctionState {
  const defaults = cloneConfigSpace(fs.cs);
  const full: FunctionState = {
    ...fs,
    // The write masks are the reset image's until a resize redefines a BAR (caps/rebar.ts
    // copies them first): snapshots share them with it.
    cs: { bytes: fs.cs.bytes, wmask: defaults.wmask, w1cmask: defaults.w1cmask },
    defaults,
    defaultBars: fs.bars.map((b) => (b ? { ...b } : undefined)),
    memory: Array.from({ length: 6 }, newMemory),
  };
  if (full.caps.msix) resetMsixTable(full.caps.msix, full.memory);
  return full;
}

/** Builds a physical function. Throws RangeError if its capabilities do not fit. */
export function buildPf(p: DeviceProfile, f: FunctionProfile): FunctionState {
  const cs = newConfigSpace();
  const lay = new Layout(cs);
  const bars = barTable(f.bars);
  installHeader(cs, {
    vendorId: p.vendorId,
    deviceId: f.deviceId ?? p.deviceId,
    revisionId: p.revisionId ?? 0,
    classCode: f.classCode ?? p.classCode,
    subsystemVendorId: p.subsystemVendorId ?? p.vendorId,
    subsystemId: p.subsystemId ?? 0,
    multiFunction: p.functions.length > 1,
    bist: !!f.bist,
    vf: false,
    bars,
    romSize: f.rom?.size,
  });
  const caps: CapLayouts = { pcie: 0 };
  caps.pm = lay.add('pm', installPm(cs, lay.alloc, !!f.noSoftReset), PCI_PM_SIZEOF);
  caps.pcie = lay.add(
    'pcie',
    installPcie(cs, lay.alloc, { flr: f.flr ?? true, teeIo: p.teeIo ?? true, vf: false }),
    PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  );
  if (f.msix) {
    caps.msix = installMsix(cs, lay.alloc, f.msix);
    lay.add('msix', caps.msix.offset, PCI_CAP_MSIX_SIZEOF);
  }
  const dsm = f.fn === 0 ? p.dsm : undefined;
  if (dsm) {
    caps.doe = lay.add('doe', installDoe(cs, lay.alloc, dsm.doe), PCI_DOE_CAP_SIZEOF);
    if (dsm.ide) {
      caps.ide = installIde(cs, lay.alloc, dsm.ide);
      const l = caps.ide;
      const size =
        PCI_IDE_LINK_STREAM_0 +
        l.linkStreams * PCI_IDE_LINK_BLOCK_SIZE +
        l.selectiveStreams * PCI_IDE_SEL_BLOCK_SIZE(l.addressBlocks);
      lay.add('ide', l.offset, size);
    }
  }
  if (f.sriov) {
    caps.sriov = installSriov(cs, lay.alloc, f.sriov, f.fn);
    lay.add('sriov', caps.sriov.offset, PCI_EXT_CAP_SRIOV_SIZEOF);
  }
  const pfs = p.functions.map((x) => x.fn).sort((a, b) => a - b);
  installCommonExt(lay, caps, f, pfs[pfs.indexOf(f.fn) + 1] ?? 0);
  if (f.resizableBar?.length) {
    caps.rebar = installRebar(
      cs,
      lay.alloc,
      f.resizableBar.map((r) => ({ ...r, current: bars[r.bar]!.size })),
    );
    lay.add('rebar', caps.rebar.offset, 4 + 8 * f.resizableBar.length);
  }
  installTail(lay, caps, f);
  return finish({
    fn: f.fn,
    kind: 'pf',
    pf: f.fn,
    vfIndex: 0,
    tdi: f.tdi ?? true,
    cs,
    regions: lay.regions,
    caps,
    bars,
    romSize: f.rom?.size,
    bist: !!f.bist,
    power: 'D0',
    doe: dsm ? newDoeState(dsm.doe) : undefined,
    nonTee: f.nonTee ?? [],
    deviceSpecificInfo: f.deviceSpecificInfo,
  });
}

/** Builds VF `n` (1-based) of a PF whose VF Enable was just set. */
export function buildVf(
  p: DeviceProfile,
  pf: FunctionState,
  pfProfile: FunctionProfile,
  fn: number,
  n: number,
): FunctionState {
  const s = pfProfile.sriov!;
  const vf = s.vf;
  const cs = newConfigSpace();
  const lay = new Layout(cs);
  const bars = barTable(vf.bars);
  installHeader(cs, {
    vendorId: p.vendorId,
    deviceId: s.vfDeviceId,
    revisionId: p.revisionId ?? 0,
    classCode: pfProfile.classCode ?? p.classCode,
    subsystemVendorId: p.subsystemVendorId ?? p.vendorId,
    subsystemId: p.subsystemId ?? 0,
    multiFunction: false,
    bist: false,
    vf: true,
    bars,
  });
  const caps: CapLayouts = { pcie: 0 };
  caps.pcie = lay.add(
    'pcie',
    installPcie(cs, lay.alloc, { flr: true, teeIo: p.teeIo ?? true, vf: true }),
    PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  );
  if (vf.msix) {
    caps.msix = installMsix(cs, lay.alloc, vf.msix);
    lay.add('msix', caps.msix.offset, PCI_CAP_MSIX_SIZEOF);
  }
  installCommonExt(lay, caps, vf, 0);
  installTail(lay, caps, vf);
  return finish({
    fn,
    kind: 'vf',
    pf: pf.fn,
    vfIndex: n,
    tdi: vf.tdi ?? true,
    cs,
    regions: lay.regions,
    caps,
    bars,
    bist: false,
    power: 'D0',
    nonTee: vf.nonTee ?? [],
    deviceSpecificInfo: vf.deviceSpecificInfo,
  });
}

/**
 * Back to the reset image: config space, BAR sizes, memory zeroed, MSI-X table masked,
 * DOE idle. The IDE capability keeps its registers (see caps/ide.ts). VF removal on a PF
 * reset is the device's job (VF Enable reads 0 afterwards).
 */
export function resetFunction(fs: FunctionState): void {
  const ide = fs.caps.ide;
  const keep = ide ? regionBytes(fs, 'ide') : undefined;
  fs.cs = {
    bytes: fs.defaults.bytes.slice(),
    wmask: fs.defaults.wmask,
    w1cmask: fs.defaults.w1cmask,
  };
  if (keep) fs.cs.bytes.set(keep.bytes, keep.start);
  fs.bars = fs.defaultBars.map((b) => (b ? { ...b } : undefined));
  for (const m of fs.memory) memZero(m);
  delete fs.t0Pages;
  if (fs.caps.msix) resetMsixTable(fs.caps.msix, fs.memory);
  fs.power = 'D0';
  if (fs.doe) {
    doeAbort(fs.doe);
    fs.doe.intStatus = false;
  }
}

function regionBytes(
  fs: FunctionState,
  kind: RegionKind,
): { start: number; bytes: Uint8Array } | undefined {
  const r = fs.regions.find((x) => x.kind === kind);
  return r && { start: r.start, bytes: fs.cs.bytes.slice(r.start, r.end) };
}

/** Base of the VF BAR registers in a PF's SR-IOV capability. */
export const vfBarBase = (pf: FunctionState): number => pf.caps.sriov!.offset + PCI_SRIOV_BAR;
