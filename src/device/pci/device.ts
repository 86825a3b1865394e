/**
 * The emulated PCIe device: its functions (PFs and enabled VFs), config access by routing
 * id, BAR memory with T-bit MMIO, a DMA engine, the IDE stream state, and the ERROR-trigger
 * events of TDISP (PCIe 6.x 11.2, SYSTEM.md section 2) that the DSM subscribes to.
 *
 * Everything a host can do goes through `configRead`/`configWrite`, `mmioRead`/`mmioWrite`
 * and `setBusNumber` (what enumeration changes): ports.ts's `hostPort` offers only those.
 * What the DSM does from inside the device (`setDoeHandler`, `setTeePolicy`,
 * `streamLeftSecure`, `scrub`) is ports.ts's `internalPort`. Facts the DSM owns (MSI-X
 * locked, IDE stream Secure) are read through its policy, never stored here. Events are
 * queued while an access runs and delivered once it has completed, so the write itself
 * always takes effect.
 */
import { clonePlain } from '../../wire/clone.ts';
import type { ConfigEventRecord, ConfigSecurityEvent, FunctionSecurityView } from '../events.ts';
import { barAddress, barView } from './bar.ts';
import { atsEnabled } from './caps/ats.ts';
import { newIdeState, type StreamState, secureStreams } from './caps/ide.ts';
import { lnrControl } from './caps/lnr.ts';
import { msixRegion, resetMsixTable } from './caps/msix.ts';
import { pasidEnabled } from './caps/pasid.ts';
import { priEnabled } from './caps/pri.ts';
import { sriovControl, vfFunction } from './caps/sriov.ts';
import { tphControl } from './caps/tph.ts';
import { checkAccess, rd } from './config-space.ts';
import {
  DEFAULT_TEE_POLICY,
  type DmaResult,
  type MmioReadResult,
  type MmioRefusal,
  type MmioWriteResult,
  type TeePolicy,
  type UpstreamPort,
} from './datapath.ts';
import {
  buildPf,
  buildVf,
  functionConfigRead,
  functionConfigWrite,
  resetFunction,
  vfBarBase,
} from './function.ts';
import { busMaster, commandBits } from './header.ts';
import { memRead, memWrite, memZero, PAGE_SIZE } from './memory.ts';
import { type DeviceProfile, type FunctionProfile, profileProblems } from './profile.ts';
import { PCI_BASE_ADDRESS_0, PCI_MSIX_FLAGS } from './regs.ts';
import type { DeviceOps, DeviceState, DoeHandler, FnContext, FunctionState } from './state.ts';

export {
  DEFAULT_TEE_POLICY,
  type DmaResult,
  type MmioReadResult,
  type MmioRefusal,
  type MmioWriteResult,
  type TeePolicy,
  type UpstreamPort,
};

export interface DeviceOptions {
  doeHandler?: DoeHandler;
  /** Bus number the device starts with (default 0). */
  bus?: number;
}

const MAX_TLP_PAYLOAD = 4096;

function toOffset(v: number | bigint): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`offset ${v} not a safe non-negative integer`);
  return n;
}

export class PciDevice {
  readonly profile: DeviceProfile;
  private state: DeviceState;
  private readonly pfProfiles = new Map<number, FunctionProfile>();
  private readonly subscribers = new Set<(r: ConfigEventRecord) => void>();
  private readonly queue: ConfigEventRecord[] = [];
  private depth = 0;
  private flushing = false;
  private handler: DoeHandler | undefined;
  private policy: TeePolicy = DEFAULT_TEE_POLICY;
  private upstream: UpstreamPort | undefined;
  private readonly ops: DeviceOps;

  /** Throws RangeError when the profile does not describe a buildable device. */
  constructor(profile: DeviceProfile, options: DeviceOptions = {}) {
    const problems = profileProblems(profile);
    if (problems.length) {
      const p = problems[0];
      throw new RangeError(`profile ${profile.name}: ${p.path.join('.')}: ${p.message}`);
    }
    this.profile = profile;
    this.handler = options.doeHandler;
    this.state = { bus: options.bus ?? 0, functions: new Map() };
    for (const f of profile.functions) {
      this.pfProfiles.set(f.fn, f);
      this.state.functions.set(f.fn, buildPf(profile, f));
    }
    if (profile.dsm?.ide) this.state.ide = newIdeState();
    // SR-IOV starts with VF Enable clear: VFs appear when the host enables them.
    this.ops = this.makeOps();
  }

  // ---- enumeration and config space -------------------------------------------------

  get busNumber(): number {
    return this.state.bus;
  }

  /** Function numbers present now (PFs and enabled VFs), ascending. */
  functions(): number[] {
    return [...this.state.functions.keys()].sort((a, b) => a - b);
  }

  /** Functions that are assignable TDIs, ascending. */
  tdis(): number[] {
    return this.functions().filter((fn) => this.state.functions.get(fn)!.tdi);
  }

  hasFunction(fn: number): boolean {
    return this.state.functions.has(fn);
  }

  /** Bus/device/function routing id (the device sits at device 0, ARI-style 8-bit functions). */
  requesterId(fn: number): number {
    return (this.state.bus << 8) | fn;
  }

  /**
   * The bus number the device captured from a Type 0 configuration write (enumeration).
   * A change renumbers every function: REQUESTER_ID_CHANGE on each. Throws RangeError
   * outside 0..255.
   */
  setBusNumber(bus: number): void {
    if (!Number.isInteger(bus) || bus < 0 || bus > 255) throw new RangeError(`bus ${bus}`);
    this.run(() => {
      if (bus === this.state.bus) return;
      this.state.bus = bus;
      for (const fn of this.functions()) this.ops.emit(fn, { kind: 'REQUESTER_ID_CHANGE' });
    });
  }

  /**
   * A configuration read of 1, 2 or 4 naturally aligned bytes. A function that does not
   * exist reads all-ones (the Unsupported Request a host sees). Throws RangeError on a
   * malformed access.
   */
  configRead(fn: number, offset: number, size: number): number {
    checkAccess(offset, size);
    const fs = this.state.functions.get(fn);
    if (!fs) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return this.run(() => functionConfigRead(this.ctx(fs), offset, size));
  }

  /** A configuration write; ignored for a function that does not exist. Throws RangeError on a malformed access. */
  configWrite(fn: number, offset: number, size: number, value: number): void {
    checkAccess(offset, size);
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size)) {
      throw new RangeError(`value ${value} does not fit ${size} byte(s)`);
    }
    const fs = this.state.functions.get(fn);
    if (!fs) return;
    this.run(() => functionConfigWrite(this.ctx(fs), offset, size, value));
  }

  /** Subscribes to ERROR-trigger events; returns the unsubscribe function. */
  onSecurityEvent(cb: (record: ConfigEventRecord) => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  // ---- what the DSM drives ------------------------------------------------------------

  /** Installs (or removes) the DOE object handler of function 0's mailbox. */
  setDoeHandler(handler: DoeHandler | undefined): void {
    this.handler = handler;
  }

  /**
   * The DSM took a stream out of Secure (K_SET_STOP, its session ended): the stream's
   * state is the DSM's, so this only reports it, IDE_STREAM_INSECURE to every function.
   * Throws RangeError when the device has no IDE capability or the id is not 0..255.
   */
  streamLeftSecure(streamId: number): void {
    const ide = this.requireIde();
    if (!Number.isInteger(streamId) || streamId < 0 || streamId > 255) {
      throw new RangeError(`stream id ${streamId}`);
    }
    if (ide.linkUp) this.run(() => this.ops.streamsLeftSecure([streamId]));
  }

  /** A stream's state as the link sees it now (link up, DSM keys started). Throws RangeError without IDE. */
  streamState(streamId: number): StreamState {
    this.requireIde();
    return this.ops.streamSecure(streamId) ? 'Secure' : 'Insecure';
  }

  /**
   * Link down: every Secure stream loses its keys (IDE_STREAM_INSECURE, on which the DSM
   * drops them). Throws RangeError without IDE.
   */
  linkDown(): void {
    const ide = this.requireIde();
    this.run(() => {
      const lost = secureStreams(ide, this.ops.streamSecure);
      ide.linkUp = false;
      this.ops.streamsLeftSecure(lost);
    });
  }

  /** Link retrained; streams stay Insecure until keys are programmed again. */
  linkUp(): void {
    this.requireIde().linkUp = true;
  }

  /**
   * Installs the DSM's T-bit policy, through which the device also reads whether MSI-X is
   * locked and which streams are keyed; `undefined` restores the T=0-only default.
   */
  setTeePolicy(policy: TeePolicy | undefined): void {
    this.policy = policy ?? DEFAULT_TEE_POLICY;
  }

  /**
   * Zeroes all BAR memory of a function (STOP_INTERFACE, PCIe 11.2.x: no guest data left
   * in the clear); the MSI-X table returns to its reset state. Throws RangeError for an
   * absent function.
   */
  scrub(fn: number): void {
    const fs = this.fnState(fn);
    for (const m of fs.memory) memZero(m);
    delete fs.t0Pages;
    if (fs.caps.msix) resetMsixTable(fs.caps.msix, fs.memory);
  }

  /**
   * Whether any page of BAR `bar` of `fn` in [offset, offset + length) was last written by
   * a T=0 access since the function's last reset or scrub: the model's observation (I14),
   * not something the device or any party can read.
   */
  untrustedWritten(fn: number, bar: number, offset: number, length: number): boolean {
    const pages = this.state.functions.get(fn)?.t0Pages?.get(bar);
    if (!pages) return false;
    const last = Math.floor((offset + Math.max(length, 1) - 1) / PAGE_SIZE);
    for (let p = Math.floor(offset / PAGE_SIZE); p <= last; p++) if (pages.has(p)) return true;
    return false;
  }

  /**
   * The first byte of the function's BAR memory that is not as reset left it, outside its
   * MSI-X table and PBA (whose contents the host programs): what a scrub must have removed.
   * Undefined when there is none or the function is absent. For observers (the invariants),
   * not for the host: it reads the device's memory whatever the T-bit policy says.
   */
  residue(fn: number): { bar: number; offset: number } | undefined {
    const fs = this.state.functions.get(fn);
    if (!fs) return undefined;
    for (const [bar, mem] of fs.memory.entries()) {
      for (const [page, bytes] of [...mem.entries()].sort((a, b) => a[0] - b[0])) {
        for (let i = 0; i < bytes.length; i++) {
          if (bytes[i] === 0) continue;
          const offset = page * PAGE_SIZE + i;
          if (fs.caps.msix && msixRegion(fs.caps.msix, bar, offset, 1)) continue;
          return { bar, offset };
        }
      }
    }
    return undefined;
  }

  /** D3cold and back: every function loses state (POWER_STATE_LOSS), VFs vanish, the link drops. */
  powerCycle(): void {
    this.run(() => {
      for (const fn of this.functions())
        this.ops.emit(fn, { kind: 'POWER_STATE_LOSS', to: 'D3cold' });
      const ide = this.state.ide;
      if (ide) this.ops.streamsLeftSecure(secureStreams(ide, this.ops.streamSecure));
      for (const fs of [...this.state.functions.values()]) {
        if (fs.kind === 'pf') this.resetPf(fs);
      }
    });
  }

  // ---- data paths -----------------------------------------------------------------------

  /** An MMIO read TLP to BAR `bar` of `fn`, with its T bit. Throws RangeError on a bad size or offset. */
  mmioRead(
    fn: number,
    bar: number,
    offset: number | bigint,
    size: number,
    opts: { t: boolean },
  ): MmioReadResult {
    const off = toOffset(offset);
    if (!Number.isInteger(size) || size < 1 || size > MAX_TLP_PAYLOAD)
      throw new RangeError(`MMIO size ${size}`);
    const refused = this.mmioRefusal(fn, bar, off, size, opts.t, false);
    if (refused) return { status: 'UR', reason: refused };
    return { status: 'SC', data: memRead(this.state.functions.get(fn)!.memory[bar], off, size) };
  }

  /**
   * An MMIO write TLP. Writes into the PBA are ignored (it is read-only); with MSI-X locked,
   * a T=0 write into the table or PBA emits MSIX_LOCKED_CHANGE. A T=1 write is the TVM's own
   * (the T-bit policy lets one through only in RUN, where a locked table is TEE memory of
   * the TDI): programming its vectors is what locking the table into its trust is for, so it
   * is no change from outside. Throws RangeError on a bad size or offset.
   */
  mmioWrite(
    fn: number,
    bar: number,
    offset: number | bigint,
    data: Uint8Array,
    opts: { t: boolean },
  ): MmioWriteResult {
    const off = toOffset(offset);
    if (data.length < 1 || data.length > MAX_TLP_PAYLOAD)
      throw new RangeError(`MMIO size ${data.length}`);
    const refused = this.mmioRefusal(fn, bar, off, data.length, opts.t, true);
    if (refused) return { status: 'UR', reason: refused };
    const fs = this.state.functions.get(fn)!;
    return this.run(() => {
      const region = fs.caps.msix && msixRegion(fs.caps.msix, bar, off, data.length);
      if (region && !opts.t && this.ops.msixLocked(fn)) {
        this.ops.emit(fn, { kind: 'MSIX_LOCKED_CHANGE' });
      }
      if (region !== 'pba') memWrite(fs.memory[bar], off, data);
      if (!region) markWriter(fs, bar, off, data.length, opts.t);
      return { status: 'SC' };
    });
  }

  /** Which function, BAR and offset a bus address decodes to (memory-enabled, programmed BARs only). */
  decodeMmio(address: bigint): { fn: number; bar: number; offset: number } | undefined {
    for (const fn of this.functions()) {
      const v = this.securityView(fn);
      if (!v.memorySpaceEnabled) continue;
      for (const b of v.bars) {
        if (b.memory && b.address !== 0n && address >= b.address && address < b.address + b.size) {
          return { fn, bar: b.index, offset: Number(address - b.address) };
        }
      }
    }
    return undefined;
  }

  /** Connects the device's upstream link (the platform); `undefined` disconnects it. */
  attachUpstream(port: UpstreamPort | undefined): void {
    this.upstream = port;
  }

  /** The function's DMA engine writes host memory; the T bit is the policy's. */
  dmaWrite(fn: number, address: bigint, data: Uint8Array): DmaResult {
    const blocked = this.dmaRefusal(fn);
    if (blocked) return { issued: false, reason: blocked };
    const t = this.policy.dmaT(fn);
    const status = this.upstream!.memWrite({ requesterId: this.requesterId(fn), address, data, t });
    return { issued: true, t, status };
  }

  /** The function's DMA engine reads host memory. Throws RangeError on a bad length. */
  dmaRead(fn: number, address: bigint, length: number): DmaResult {
    if (!Number.isInteger(length) || length < 1 || length > MAX_TLP_PAYLOAD)
      throw new RangeError(`DMA length ${length}`);
    const blocked = this.dmaRefusal(fn);
    if (blocked) return { issued: false, reason: blocked };
    const t = this.policy.dmaT(fn);
    const r = this.upstream!.memRead({ requesterId: this.requesterId(fn), address, length, t });
    return r.status === 'SC'
      ? { issued: true, t, status: 'SC', data: r.data }
      : { issued: true, t, status: r.status };
  }

  // ---- what the DSM reads -------------------------------------------------------------

  /** The live configuration of a function as DEVICE_INTERFACE_REPORT needs it. Throws RangeError for an absent function. */
  securityView(fn: number): FunctionSecurityView {
    const fs = this.fnState(fn);
    const { bme } = commandBits(fs.cs);
    const c = fs.caps;
    const bytes = fs.cs.bytes;
    return {
      fn,
      requesterId: this.requesterId(fn),
      bars: fs.bars.flatMap((b, i) => (b ? [barView(i, this.barAddressOf(fs, i), b)] : [])),
      msix: c.msix && {
        tableBar: c.msix.tableBar,
        tableOffset: c.msix.tableOffset,
        tableSize: c.msix.vectors,
        pbaBar: c.msix.pbaBar,
        pbaOffset: c.msix.pbaOffset,
        messageControl: rd(bytes, c.msix.offset + PCI_MSIX_FLAGS, 2),
      },
      pasidEnabled: c.pasid !== undefined && pasidEnabled(fs.cs, c.pasid),
      atsEnabled: c.ats !== undefined && atsEnabled(fs.cs, c.ats),
      prsEnabled: c.pri !== undefined && priEnabled(fs.cs, c.pri),
      lnrControl: c.lnr !== undefined ? lnrControl(fs.cs, c.lnr) : 0,
      tphControl: c.tph !== undefined ? tphControl(fs.cs, c.tph) : 0,
      nonTeeRanges: fs.nonTee.map((r) => ({ ...r })),
      memorySpaceEnabled: this.memoryEnabled(fs),
      busMasterEnabled: bme,
      ...(fs.deviceSpecificInfo && { deviceSpecificInfo: fs.deviceSpecificInfo.slice() }),
    };
  }

  // ---- snapshots ------------------------------------------------------------------------

  /**
   * A deep copy of the whole device state (config, memory, mailbox, streams). Each
   * function's reset image (`defaults`, and the write masks while they are its) never
   * changes once built: the copy shares it, and what is unchanged since `prev` (an earlier
   * snapshot) is prev's own (wire/clone.ts).
   */
  snapshot(prev?: DeviceState): DeviceState {
    return clonePlain(this.state, resetImages(this.state), prev);
  }

  /** Returns the device to a snapshot taken from a device built from the same profile. */
  restore(state: DeviceState): void {
    this.state = clonePlain(state, resetImages(state));
  }

  // ---- internals ------------------------------------------------------------------------

  private requireIde() {
    if (!this.state.ide) throw new RangeError(`${this.profile.name} has no IDE capability`);
    return this.state.ide;
  }

  private fnState(fn: number): FunctionState {
    const fs = this.state.functions.get(fn);
    if (!fs) throw new RangeError(`no function ${fn}`);
    return fs;
  }

  private ctx(fs: FunctionState): FnContext {
    return { fs, dev: this.ops };
  }

  private pfOf(fs: FunctionState): FunctionState {
    return fs.kind === 'pf' ? fs : this.state.functions.get(fs.pf)!;
  }

  private barAddressOf(fs: FunctionState, i: number): bigint {
    const bar = fs.bars[i]!;
    if (fs.kind === 'pf') return barAddress(fs.cs.bytes, PCI_BASE_ADDRESS_0, i, bar);
    const pf = this.pfOf(fs);
    return barAddress(pf.cs.bytes, vfBarBase(pf), i, bar) + BigInt(fs.vfIndex - 1) * bar.size;
  }

  private memoryEnabled(fs: FunctionState): boolean {
    if (fs.kind === 'pf') return commandBits(fs.cs).mse;
    const pf = this.pfOf(fs);
    return sriovControl(pf.cs, pf.caps.sriov!).vfMse;
  }

  private mmioRefusal(
    fn: number,
    bar: number,
    off: number,
    size: number,
    t: boolean,
    write: boolean,
  ): MmioRefusal | undefined {
    const fs = this.state.functions.get(fn);
    if (!fs) return 'no-such-function';
    const b = fs.bars[bar];
    if (!b || b.io) return 'no-such-bar';
    if (BigInt(off) + BigInt(size) > b.size) return 'outside-bar';
    if (this.pfOf(fs).power !== 'D0') return 'power-state';
    if (!this.memoryEnabled(fs)) return 'memory-space-disabled';
    if (this.policy.mmio(fn, bar, off, t, write) !== 'ok') return 'tee-policy';
    return undefined;
  }

  private dmaRefusal(fn: number): Extract<DmaResult, { issued: false }>['reason'] | undefined {
    const fs = this.state.functions.get(fn);
    if (!fs) return 'no-such-function';
    if (this.pfOf(fs).power !== 'D0') return 'power-state';
    if (!busMaster(fs.cs)) return 'bus-master-disabled';
    if (!this.upstream) return 'no-upstream';
    return undefined;
  }

  private vfsOf(pf: FunctionState): FunctionState[] {
    return [...this.state.functions.values()]
      .filter((f) => f.kind === 'vf' && f.pf === pf.fn)
      .sort((a, b) => a.fn - b.fn);
  }

  private removeVfs(pf: FunctionState): void {
    for (const vf of this.vfsOf(pf)) this.state.functions.delete(vf.fn);
  }

  private resetPf(fs: FunctionState): void {
    this.removeVfs(fs);
    resetFunction(fs);
  }

  /** Runs an access; delivers queued events once the outermost one has completed. */
  private run<T>(op: () => T): T {
    this.depth++;
    try {
      return op();
    } finally {
      this.depth--;
      if (this.depth === 0) this.flush();
    }
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length) {
        const rec = this.queue.shift()!;
        for (const cb of [...this.subscribers]) cb(rec);
      }
    } finally {
      this.flushing = false;
    }
  }

  private makeOps(): DeviceOps {
    const dev = this;
    return {
      get state() {
        return dev.state;
      },
      emit(fn: number, event: ConfigSecurityEvent) {
        dev.queue.push({ fn, event });
      },
      vfsOf: (pf) => dev.vfsOf(pf),
      functionLevelReset(fs) {
        this.emit(fs.fn, { kind: 'FLR', fromPf: false });
        if (fs.kind === 'pf') {
          for (const vf of dev.vfsOf(fs)) this.emit(vf.fn, { kind: 'FLR', fromPf: true });
          dev.resetPf(fs);
        } else {
          resetFunction(fs);
        }
      },
      powerReset(fs) {
        if (fs.kind === 'pf') dev.resetPf(fs);
        else resetFunction(fs);
      },
      setVfEnable(pf, enable) {
        dev.removeVfs(pf);
        if (!enable) return;
        const l = pf.caps.sriov!;
        const n = Math.min(sriovControl(pf.cs, l).numVfs, l.totalVfs);
        const prof = dev.pfProfiles.get(pf.fn)!;
        for (let i = 1; i <= n; i++) {
          const fn = vfFunction(pf.fn, l, i);
          dev.state.functions.set(fn, buildVf(dev.profile, pf, prof, fn, i));
        }
      },
      doeHandler: () => dev.handler,
      msixLocked: (fn) => dev.policy.msixLocked?.(fn) ?? false,
      streamSecure: (id) =>
        dev.state.ide?.linkUp === true && (dev.policy.streamSecure?.(id) ?? false),
      streamsLeftSecure(ids) {
        for (const id of ids) {
          for (const fn of dev.functions())
            this.emit(fn, { kind: 'IDE_STREAM_INSECURE', streamId: id });
        }
      },
    };
  }
}

/** Builds the whole device a profile describes. Throws RangeError on an unbuildable profile. */
export function createDevice(profile: DeviceProfile, options: DeviceOptions = {}): PciDevice {
  return new PciDevice(profile, options);
}

/**
 * The observer's record of who last wrote each page (FunctionState.t0Pages): a T=0 write
 * marks the pages it touched, a T=1 write clears them. Page-grained: a T=1 write anywhere in
 * a page vouches for the whole page, an under-count the invariant accepts for its cost.
 */
function markWriter(fs: FunctionState, bar: number, off: number, length: number, t: boolean) {
  const first = Math.floor(off / PAGE_SIZE);
  const last = Math.floor((off + length - 1) / PAGE_SIZE);
  if (t) {
    const pages = fs.t0Pages?.get(bar);
    if (!pages) return;
    for (let p = first; p <= last; p++) pages.delete(p);
    if (pages.size === 0) fs.t0Pages!.delete(bar);
    if (fs.t0Pages!.size === 0) delete fs.t0Pages;
    return;
  }
  // A page the write left all zero holds what a reset leaves (memory.ts drops it): nothing of
  // the writer's is left to count, and the record stays as canonical as the memory.
  const mem = fs.memory[bar];
  let pages = fs.t0Pages?.get(bar);
  for (let p = first; p <= last; p++) {
    if (!mem.has(p)) {
      pages?.delete(p);
      continue;
    }
    if (!pages) {
      fs.t0Pages ??= new Map();
      pages = new Set();
      fs.t0Pages.set(bar, pages);
    }
    pages.add(p);
  }
  if (pages?.size === 0) fs.t0Pages!.delete(bar);
  if (fs.t0Pages?.size === 0) delete fs.t0Pages;
}

/**
 * The functions' reset images: built once, read by resets, never written; the write masks
 * too while a function's are still its reset image's (a resize copies them first).
 */
function resetImages(s: DeviceState): Set<object> {
  const out = new Set<object>();
  for (const f of s.functions.values()) {
    out.add(f.defaults);
    out.add(f.defaults.wmask);
    out.add(f.defaults.w1cmask);
  }
  return out;
}
