/**
 * The hardware description a device is built from: vendor/device ids, functions, BARs and
 * capabilities. Plain data; src/device/profiles/ holds the built-in ones and the zod schema
 * that turns a user's YAML or JSON into this shape. `profileProblems` is the cross-field
 * check (BAR layout, MSI-X placement, VF routing ids) both paths share.
 */

export interface BarProfile {
  /** BAR register index 0-5; a 64-bit BAR also takes index + 1. */
  index: number;
  /** Bytes, a power of two. */
  size: bigint;
  is64?: boolean;
  prefetchable?: boolean;
  /** An I/O-space BAR (no MMIO data path). */
  io?: boolean;
}

export interface MsixProfile {
  vectors: number;
  table: { bar: number; offset: number };
  pba: { bar: number; offset: number };
}

export interface NonTeeRange {
  bar: number;
  offset: bigint;
  size: bigint;
}

/** What PFs and VFs share. */
export interface CommonFunctionProfile {
  /** Assignable as a TDI (default true). */
  tdi?: boolean;
  bars: BarProfile[];
  msix?: MsixProfile;
  ats?: { invalidateQueueDepth?: number };
  pri?: { outstandingRequests?: number };
  pasid?: { width?: number; exec?: boolean; priv?: boolean };
  ari?: boolean;
  tph?: boolean;
  lnr?: boolean;
  /** BAR ranges reported with the non-TEE attribute. */
  nonTee?: NonTeeRange[];
  /** DEVICE_SPECIFIC_INFO of the TDI's interface report. */
  deviceSpecificInfo?: Uint8Array;
}

export type VfProfile = CommonFunctionProfile;

export interface SriovProfile {
  totalVfs: number;
  /** Default totalVfs. */
  initialVfs?: number;
  firstVfOffset: number;
  vfStride: number;
  vfDeviceId: number;
  vf: VfProfile;
}

export interface FunctionProfile extends CommonFunctionProfile {
  fn: number;
  deviceId?: number;
  classCode?: number;
  rom?: { size: bigint };
  bist?: boolean;
  /** Function Level Reset capable (default true). */
  flr?: boolean;
  /** PMCSR No_Soft_Reset: D3hot -> D0 keeps state (default false: it loses state). */
  noSoftReset?: boolean;
  resizableBar?: Array<{ bar: number; sizes: bigint[] }>;
  sriov?: SriovProfile;
}

export interface DsmProfile {
  doe: { maxObjectDwords?: number; busyPolls?: number; interrupt?: boolean };
  ide?: {
    linkStreams?: number;
    selectiveStreams?: number;
    addressBlocks?: number;
    teeLimited?: boolean;
  };
  /**
   * CXL IDE (CXL 3.x 8.2.4.22) keyed over CXL_IDE_KM; absent for a device without CXL. The
   * capabilities default to true, maxPortIndex to 0.
   */
  cxlIde?: {
    maxPortIndex?: number;
    ivGeneration?: boolean;
    keyGeneration?: boolean;
    kSetStop?: boolean;
    containment?: boolean;
  };
  /**
   * A CXL TSP target (CXL 3.x 11.5, memory encryption and TE state) with the default
   * capabilities of device/dsm/cxl-tsp/target.ts; absent for a device without one.
   */
  cxlTsp?: Record<string, never>;
}

export interface DeviceProfile {
  name: string;
  description?: string;
  vendorId: number;
  deviceId: number;
  revisionId?: number;
  classCode: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** Device Capabilities.TEE-IO Supported on every function (default true). */
  teeIo?: boolean;
  /** The DSM's DOE mailbox and IDE capability, on function 0. */
  dsm?: DsmProfile;
  functions: FunctionProfile[];
}

export interface ProfileProblem {
  path: Array<string | number>;
  message: string;
}

const isPow2 = (v: bigint): boolean => v > 0n && (v & (v - 1n)) === 0n;

function barProblems(bars: BarProfile[], path: Array<string | number>): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  const used = new Map<number, number>();
  bars.forEach((b, i) => {
    const p = [...path, i];
    const slots = b.is64 ? [b.index, b.index + 1] : [b.index];
    for (const s of slots) {
      if (s > 5) out.push({ path: [...p, 'index'], message: `BAR slot ${s} beyond BAR5` });
      else if (used.has(s)) {
        out.push({
          path: [...p, 'index'],
          message: `BAR slot ${s} already used by bars[${used.get(s)}]`,
        });
      } else used.set(s, i);
    }
    if (!isPow2(b.size)) out.push({ path: [...p, 'size'], message: 'must be a power of two' });
    if (b.io) {
      if (b.is64 || b.prefetchable) {
        out.push({ path: [...p, 'io'], message: 'an I/O BAR cannot be 64-bit or prefetchable' });
      }
      if (b.size < 4n || b.size > 256n) {
        out.push({ path: [...p, 'size'], message: 'I/O BAR size must be 4..256 bytes' });
      }
    } else if (b.size < 16n) {
      out.push({ path: [...p, 'size'], message: 'memory BAR size must be at least 16 bytes' });
    } else if (!b.is64 && b.size > 2n ** 31n) {
      out.push({ path: [...p, 'size'], message: 'a 32-bit BAR is at most 2 GiB (use is64)' });
    } else if (b.size > 2n ** 62n) {
      out.push({ path: [...p, 'size'], message: 'BAR too large' });
    }
  });
  return out;
}

function memBar(bars: BarProfile[], index: number): BarProfile | undefined {
  return bars.find((b) => b.index === index && !b.io);
}

function commonProblems(f: CommonFunctionProfile, path: Array<string | number>): ProfileProblem[] {
  const out = barProblems(f.bars, [...path, 'bars']);
  if (f.msix) {
    const m = f.msix;
    const tbar = memBar(f.bars, m.table.bar);
    const pbar = memBar(f.bars, m.pba.bar);
    const tlen = BigInt(m.vectors * 16);
    const plen = BigInt(Math.ceil(m.vectors / 64) * 8);
    if (!tbar)
      out.push({
        path: [...path, 'msix', 'table', 'bar'],
        message: `no memory BAR ${m.table.bar}`,
      });
    else if (BigInt(m.table.offset) + tlen > tbar.size) {
      out.push({
        path: [...path, 'msix', 'table', 'offset'],
        message: 'table does not fit in its BAR',
      });
    }
    if (!pbar)
      out.push({ path: [...path, 'msix', 'pba', 'bar'], message: `no memory BAR ${m.pba.bar}` });
    else if (BigInt(m.pba.offset) + plen > pbar.size) {
      out.push({
        path: [...path, 'msix', 'pba', 'offset'],
        message: 'PBA does not fit in its BAR',
      });
    }
    if (m.table.offset % 8 !== 0) {
      out.push({ path: [...path, 'msix', 'table', 'offset'], message: 'must be 8-byte aligned' });
    }
    if (m.pba.offset % 8 !== 0) {
      out.push({ path: [...path, 'msix', 'pba', 'offset'], message: 'must be 8-byte aligned' });
    }
    if (
      m.table.bar === m.pba.bar &&
      m.table.offset < m.pba.offset + Number(plen) &&
      m.pba.offset < m.table.offset + Number(tlen)
    ) {
      out.push({ path: [...path, 'msix', 'pba', 'offset'], message: 'PBA overlaps the table' });
    }
  }
  (f.nonTee ?? []).forEach((r, i) => {
    const b = memBar(f.bars, r.bar);
    if (!b) out.push({ path: [...path, 'nonTee', i, 'bar'], message: `no memory BAR ${r.bar}` });
    else if (r.size <= 0n || r.offset + r.size > b.size) {
      out.push({ path: [...path, 'nonTee', i, 'size'], message: 'range outside its BAR' });
    }
  });
  return out;
}

/** Bytes of extended configuration space a function's capabilities take (PCIe 7.6). */
export function extCapBytes(
  f: CommonFunctionProfile & Partial<FunctionProfile>,
  dsm?: DsmProfile,
): number {
  let n = 0;
  if (dsm) {
    n += 0x18; // DOE
    if (dsm.ide) {
      const { linkStreams = 0, selectiveStreams = 0, addressBlocks = 0 } = dsm.ide;
      n += 0x0c + 8 * linkStreams + selectiveStreams * (20 + 12 * addressBlocks);
    }
  }
  if (f.sriov) n += 0x40;
  if (f.ats) n += 8;
  if (f.pri) n += 16;
  if (f.pasid) n += 8;
  if (f.ari) n += 8;
  if (f.tph) n += 12;
  if (f.lnr) n += 8;
  if (f.resizableBar?.length) n += 4 + 8 * f.resizableBar.length;
  return n;
}

/**
 * Cross-field problems of a profile (empty when it can be built). Field ranges and types
 * are the schema's job; this checks how the fields fit together.
 */
export function profileProblems(p: DeviceProfile): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  const fns = new Map<number, string>();
  const claim = (fn: number, who: string, path: Array<string | number>): void => {
    if (fn > 255) out.push({ path, message: `routing id function ${fn} beyond 255` });
    else if (fns.has(fn))
      out.push({ path, message: `function ${fn} already used by ${fns.get(fn)}` });
    else fns.set(fn, who);
  };
  if (!p.functions.some((f) => f.fn === 0)) {
    out.push({ path: ['functions'], message: 'function 0 is required (it hosts the DSM)' });
  }
  p.functions.forEach((f, i) => {
    claim(f.fn, `functions[${i}]`, ['functions', i, 'fn']);
  });
  // VFs after every PF, so a clash is reported at the SR-IOV layout.
  p.functions.forEach((f, i) => {
    const s = f.sriov;
    for (let v = 0; s && v < s.totalVfs; v++) {
      claim(f.fn + s.firstVfOffset + v * s.vfStride, `VF${v + 1} of function ${f.fn}`, [
        'functions',
        i,
        'sriov',
        'firstVfOffset',
      ]);
    }
  });
  p.functions.forEach((f, i) => {
    const path = ['functions', i];
    out.push(...commonProblems(f, path));
    if (f.rom && (!isPow2(f.rom.size) || f.rom.size < 2048n || f.rom.size > 2n ** 24n)) {
      out.push({ path: [...path, 'rom', 'size'], message: 'power of two from 2 KiB to 16 MiB' });
    }
    (f.resizableBar ?? []).forEach((r, j) => {
      const b = memBar(f.bars, r.bar);
      const rp = [...path, 'resizableBar', j];
      if (!b) out.push({ path: [...rp, 'bar'], message: `no memory BAR ${r.bar}` });
      else if (!r.sizes.includes(b.size)) {
        out.push({ path: [...rp, 'sizes'], message: 'must include the BAR size' });
      }
      for (const s of r.sizes) {
        if (!isPow2(s) || s < 2n ** 20n || s > 2n ** 47n || (b && !b.is64 && s > 2n ** 31n)) {
          out.push({
            path: [...rp, 'sizes'],
            message: `size ${s} not a power of two in 1 MiB..128 TiB`,
          });
        }
      }
    });
    if (f.sriov) {
      const s = f.sriov;
      const sp = [...path, 'sriov'];
      if ((s.initialVfs ?? s.totalVfs) > s.totalVfs) {
        out.push({ path: [...sp, 'initialVfs'], message: 'more than totalVfs' });
      }
      out.push(...commonProblems(s.vf, [...sp, 'vf']));
    }
    const ext = extCapBytes(f, f.fn === 0 ? p.dsm : undefined);
    if (ext > 0xf00) {
      out.push({ path, message: `extended capabilities need ${ext} bytes, more than 3840` });
    }
  });
  const ide = p.dsm?.ide;
  if (ide && (ide.linkStreams ?? 0) + (ide.selectiveStreams ?? 0) === 0) {
    out.push({ path: ['dsm', 'ide'], message: 'at least one Link or Selective IDE stream' });
  }
  return out;
}
