/**
 * The PCIe fabric between CPUs, memory and devices (PCIe 6.x 2.2 memory requests, 11.2 the T
 * bit, 6.33 IDE): it routes each transaction with its requester id, T bit and IDE stream and
 * says why it refuses one.
 *
 * - DMA from a device (the device's UpstreamPort): T=0 translates through the host's IOMMU
 *   domain of the requester and may land only in shared memory; T=1 needs the requester's IDE
 *   stream Secure at the root port and at the device, an accepted trusted DMA context, the
 *   TDI in RUN (the TSM's view), and a present secure-EPT entry of that VM backed by a page
 *   private to that same VM; or, when the IOMMU keeps its own table (design question 8,
 *   switch dmaTable 'mirrored'), an entry of that VM's mirror (iommu-mirror.ts).
 * - MMIO from a CPU: the host by bus address (never into a BAR page some secure EPT maps as
 *   private MMIO); a guest by GPA, a shared GPA through the VM's shared EPT (T=0), a private
 *   GPA through its secure EPT to a TDI in RUN with the stream Secure at both ends (T=1).
 *
 * Refused DMA completes UR or CA as PCIe would; refused MMIO reads return all-ones and writes
 * are dropped; every transaction, routed or refused, is one TransactionEvent. Devices are
 * reached through a bus of HostPorts (by PCI bus number): the state holds no device.
 */
import type { MmioRefusal, UpstreamPort } from '../device/pci/datapath.ts';
import type { HostPort } from '../device/pci/ports.ts';
import type { FabricRefusal, PlatformEvent, TransactionEvent, Verdict } from './events.ts';
import {
  busOf,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Pfn,
  pageOffset,
  pfnKey,
  pfnKeyOf,
  type Rid,
  type VmId,
} from './ids.ts';
import type { IommuMapping } from './iommu.ts';
import type { MirrorTable } from './iommu-mirror.ts';
import { pageOwner, readPage, writePage } from './memory.ts';
import type { PfnTable } from './pfn-table.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';
import { rootPortStreamState } from './root-port.ts';
import { type SeptState, septWalk } from './sept.ts';
import type { PlatformHw } from './state.ts';

/** A memory BAR as enumeration placed it: the fabric's routing table entry. */
export interface BarRoute {
  rid: Rid;
  fn: number;
  bar: number;
  base: bigint;
  size: bigint;
}

export interface FabricState {
  /** By `${rid}:${bar}`. */
  bars: Map<string, BarRoute>;
  /** The GPA bit that marks a shared guest address. */
  sharedGpaMask: bigint;
}

/**
 * What the fabric learns from outside its own state, as hardware would: the TSM's record of
 * which TDIs are in RUN, and whether the device's end of an IDE stream is Secure (its IDE
 * Extended Capability Stream Status; in the model, the device's stream state).
 */
export interface FabricViews {
  tdiRunning(rid: Rid): boolean;
  linkSecure(rid: Rid, streamId: number): boolean;
}

/** The devices on the bus by PCI bus number (each device's HostPort). */
export type Bus = ReadonlyMap<number, HostPort>;

/** What a CPU's MMIO read returns: data (all-ones when refused) and the completion. */
export interface MmioAccess {
  status: Verdict;
  data: Uint8Array;
}

/** Completion status of each refusal: UR for a missing route or translation, CA for a rule broken. */
const STATUS: Record<FabricRefusal, 'UR' | 'CA'> = {
  'no-iommu-domain': 'UR',
  'iommu-not-mapped': 'UR',
  'iommu-read-only': 'UR',
  'not-host-memory': 'UR',
  'private-page-untrusted-dma': 'CA',
  'no-ide-stream': 'UR',
  'ide-stream-insecure-root-port': 'UR',
  'ide-stream-insecure-device': 'UR',
  'no-secure-dma-context': 'UR',
  'secure-dma-not-accepted': 'UR',
  'secure-dma-blocked': 'UR',
  'tdi-not-run': 'CA',
  'no-secure-ept': 'UR',
  'sept-not-mapped': 'UR',
  'sept-pending': 'UR',
  'sept-blocked': 'UR',
  'sept-removed': 'CA',
  'sept-mmio-target': 'UR',
  'sept-memory-target': 'UR',
  'page-not-private-to-vm': 'CA',
  'mirror-not-mapped': 'UR',
  'crosses-page': 'UR',
  'no-bar': 'UR',
  'no-device': 'UR',
  'private-bar-page': 'CA',
  'shared-ept-not-mapped': 'UR',
  'bar-rid-mismatch': 'UR',
  'device-refused': 'UR',
};

const barKey = (rid: Rid, bar: number) => `${rid}:${bar}`;

// ---- routing table (host enumeration fills it) ------------------------------------------

/** Adds a BAR to the routing table (EEXIST: the BAR is routed already or overlaps another). */
export function fabricAddBar(
  fabric: FabricState,
  route: BarRoute,
): Outcome<OpResult<object, 'EEXIST' | 'EINVAL'>> {
  const op = 'bar-route-add';
  if (route.size <= 0n || route.base < 0n)
    return refuse(op, 'EINVAL', `BAR size 0x${route.size.toString(16)}`);
  if (fabric.bars.has(barKey(route.rid, route.bar))) {
    return refuse(
      op,
      'EEXIST',
      `BAR ${route.bar} of requester 0x${route.rid.toString(16)} is routed`,
    );
  }
  for (const b of fabric.bars.values()) {
    if (route.base < b.base + b.size && b.base < route.base + route.size) {
      return refuse(op, 'EEXIST', `overlaps BAR ${b.bar} of requester 0x${b.rid.toString(16)}`);
    }
  }
  fabric.bars.set(barKey(route.rid, route.bar), { ...route });
  const { rid, bar, base, size } = route;
  return done({}, { kind: 'bar-route', op: 'add', rid, bar, base, size });
}

/** Removes a BAR from the routing table (ENOENT: not routed). */
export function fabricRemoveBar(
  fabric: FabricState,
  rid: Rid,
  bar: number,
): Outcome<OpResult<object, 'ENOENT'>> {
  if (!fabric.bars.delete(barKey(rid, bar))) {
    return refuse(
      'bar-route-remove',
      'ENOENT',
      `BAR ${bar} of requester 0x${rid.toString(16)} is not routed`,
    );
  }
  return done({}, { kind: 'bar-route', op: 'remove', rid, bar });
}

/** The routed BAR holding [address, address + length), if any. */
export function barAt(fabric: FabricState, address: bigint, length: number): BarRoute | undefined {
  const end = address + BigInt(length);
  for (const b of fabric.bars.values()) {
    if (address >= b.base && end <= b.base + b.size) return b;
  }
  return undefined;
}

/**
 * The VM whose secure EPT maps bus page `pfn` as private MMIO (entries not yet removed): one
 * lookup per VM in its index of MMIO targets, however many pages are mapped.
 */
export function privateMmioOwner(hw: PlatformHw, pfn: Pfn): VmId | undefined {
  for (const sept of hw.septs.values()) {
    if (sept.mmioTargets[pfn] !== undefined) return sept.vm;
  }
  return undefined;
}

// ---- DMA ---------------------------------------------------------------------------------

/** Marks `ev` refused for `why` (its completion status from STATUS). */
function refused(ev: TransactionEvent, why: FabricRefusal): undefined {
  ev.reason = why;
  ev.verdict = STATUS[why];
  return undefined;
}

/** T=1 needs the requester's IDE stream Secure at both ends; records the stream in `into`. */
function secureLink(
  hw: PlatformHw,
  views: FabricViews,
  rid: Rid,
  into: { stream?: number },
): FabricRefusal | undefined {
  const stream = hw.rootPort.rids.get(rid);
  if (stream === undefined) return 'no-ide-stream';
  into.stream = stream;
  if (rootPortStreamState(hw.rootPort, stream) !== 'secure') return 'ide-stream-insecure-root-port';
  if (!views.linkSecure(rid, stream)) return 'ide-stream-insecure-device';
  return undefined;
}

/**
 * The stream and TSM checks a T=1 DMA needs before any page is looked at; the table it
 * translates through: the VM's secure EPT, or under 'mirrored' the IOMMU's own (a mirror is
 * there while a context of its VM is accepted, so its absence is a bug's, refused all the same).
 */
function secureRequester(
  hw: PlatformHw,
  views: FabricViews,
  rid: Rid,
  ev: TransactionEvent,
): SeptState | MirrorTable | FabricRefusal {
  const link = secureLink(hw, views, rid, ev);
  if (link) return link;
  const ctx = hw.iommu.secure.get(rid);
  if (ctx === undefined) return 'no-secure-dma-context';
  ev.vm = ctx.vm;
  if (ctx.state === 'blocked') return 'secure-dma-blocked';
  if (ctx.state !== 'accepted') return 'secure-dma-not-accepted';
  if (!views.tdiRunning(rid)) return 'tdi-not-run';
  if (hw.iommu.secureDmaTable === 'mirrored') {
    return hw.iommu.mirrors.get(ctx.vm) ?? 'mirror-not-mapped';
  }
  return hw.septs.get(ctx.vm) ?? 'no-secure-ept';
}

/** T=1: the host page behind guest frame `gfn`, present and private to `vm`, or why not. */
function securePage(hw: PlatformHw, sept: SeptState, vm: VmId, gfn: Pfn): Pfn | FabricRefusal {
  const t = septWalk(sept, gfn);
  if (typeof t === 'string') return `sept-${t}`;
  if (t.kind !== 'memory') return 'sept-mmio-target';
  const hpfn = pfnKey(t.hpfn);
  const owner = pageOwner(hw.memory, hpfn);
  if (owner === undefined) return 'not-host-memory';
  if (owner.kind !== 'private' || owner.vm !== vm) return 'page-not-private-to-vm';
  return hpfn;
}

/**
 * T=1 under 'mirrored': the host page the VM's IOMMU table gives guest frame `gfn`, or why
 * not. The IOMMU trusts its own table as the shared answer's trusts the secure EPT: it asks
 * no owner of the page (only that it is memory), so that the page is still the guest's rests
 * on the firmware keeping the table in step (tsm/private-memory.ts). That is the TDX-like
 * IOMMU; SEV's checks the RMP on every DMA and Arm's SMMU the granule protection table, which
 * would refuse a page taken back, and the model does not express those second checks.
 */
function mirrorPage(hw: PlatformHw, mirror: MirrorTable, gfn: Pfn): Pfn | FabricRefusal {
  const hpfn = mirror[gfn];
  if (hpfn === undefined) return 'mirror-not-mapped';
  if (pageOwner(hw.memory, hpfn) === undefined) return 'not-host-memory';
  return hpfn;
}

/**
 * The host page of one page of a DMA, through whichever table routeDma chose. A function, not
 * a closure made per DMA: this is the path of every transaction.
 */
function dmaPage(
  hw: PlatformHw,
  sept: SeptState | undefined,
  mirror: MirrorTable | undefined,
  table: PfnTable<IommuMapping> | undefined,
  vm: VmId,
  pfn: Pfn,
  write: boolean,
): Pfn | FabricRefusal {
  if (sept) return securePage(hw, sept, vm, pfn);
  if (mirror) return mirrorPage(hw, mirror, pfn);
  return sharedPage(hw, table!, pfn, write);
}

/** T=0: the host page behind IOVA page `iovaPfn` in the host's table, shared only, or why not. */
function sharedPage(
  hw: PlatformHw,
  table: PfnTable<IommuMapping>,
  iovaPfn: Pfn,
  write: boolean,
): Pfn | FabricRefusal {
  const m = table[iovaPfn];
  if (m === undefined) return 'iommu-not-mapped';
  if (write && !m.writable) return 'iommu-read-only';
  const hpfn = pfnKey(m.hpfn);
  const owner = pageOwner(hw.memory, hpfn);
  if (owner === undefined) return 'not-host-memory';
  if (owner.kind !== 'shared') return 'private-page-untrusted-dma';
  return hpfn;
}

/**
 * Routes the DMA `ev` describes: the host page of each page-sized piece (one number when it
 * fits a page, the common case), or undefined with `ev` marked refused. Checks every page
 * before the caller touches any.
 */
function routeDma(
  hw: PlatformHw,
  views: FabricViews,
  ev: TransactionEvent,
  rid: Rid,
  offset: number,
  write: boolean,
): Pfn | Pfn[] | undefined {
  let sept: SeptState | undefined;
  let mirror: MirrorTable | undefined;
  let table: PfnTable<IommuMapping> | undefined;
  if (ev.t) {
    const s = secureRequester(hw, views, rid, ev);
    if (typeof s === 'string') return refused(ev, s);
    if (hw.iommu.secureDmaTable === 'mirrored') mirror = s as MirrorTable;
    else sept = s as SeptState;
  } else {
    const domain = hw.iommu.attached.get(rid);
    table = domain === undefined ? undefined : hw.iommu.domains.get(domain);
    if (table === undefined) return refused(ev, 'no-iommu-domain');
  }
  const first = pfnKeyOf(ev.address);
  const vm = ev.vm as VmId;
  if (offset + ev.length <= PAGE_SIZE) {
    const p = dmaPage(hw, sept, mirror, table, vm, first, write);
    return typeof p === 'number' ? p : refused(ev, p);
  }
  const pages: Pfn[] = [];
  const last = first + Math.floor((offset + ev.length - 1) / PAGE_SIZE);
  for (let pfn = first; pfn <= last; pfn++) {
    const p = dmaPage(hw, sept, mirror, table, vm, pfn, write);
    if (typeof p !== 'number') return refused(ev, p);
    pages.push(p);
  }
  return pages;
}

function dmaEvent(
  request: 'MemRd' | 'MemWr',
  rid: Rid,
  t: boolean,
  address: bigint,
  length: number,
): TransactionEvent {
  return { kind: 'transaction', domain: 'device', request, t, address, length, rid, verdict: 'SC' };
}

/** Calls `fn` for each page-sized piece of a multi-page request, with its host page. */
function eachPiece(
  address: bigint,
  length: number,
  pages: Pfn[],
  fn: (hpfn: Pfn, offset: number, done: number, n: number) => void,
): void {
  let d = 0;
  for (let i = 0; i < pages.length; i++) {
    const off = i === 0 ? pageOffset(address) : 0;
    const n = Math.min(length - d, PAGE_SIZE - off);
    fn(pages[i], off, d, n);
    d += n;
  }
}

export interface DmaWriteRequest {
  requesterId: Rid;
  address: bigint;
  data: Uint8Array;
  t: boolean;
}

export interface DmaReadRequest {
  requesterId: Rid;
  address: bigint;
  length: number;
  t: boolean;
}

/** Routes a device's memory write as `ev` describes it; every page is checked before the first byte lands. */
function dmaWrite(hw: PlatformHw, views: FabricViews, req: DmaWriteRequest, ev: TransactionEvent) {
  const { address, data } = req;
  const offset = pageOffset(address);
  const r = routeDma(hw, views, ev, req.requesterId, offset, true);
  if (r === undefined) return;
  if (typeof r === 'number') writePage(hw.memory, r, offset, data);
  else {
    eachPiece(address, data.length, r, (hpfn, off, d, n) =>
      writePage(hw.memory, hpfn, off, data.subarray(d, d + n)),
    );
  }
}

/** Routes a device's memory read as `ev` describes it: the data, or undefined when refused. */
function dmaRead(
  hw: PlatformHw,
  views: FabricViews,
  req: DmaReadRequest,
  ev: TransactionEvent,
): Uint8Array | undefined {
  const { address, length } = req;
  const offset = pageOffset(address);
  const r = routeDma(hw, views, ev, req.requesterId, offset, false);
  if (r === undefined) return undefined;
  if (typeof r === 'number') return readPage(hw.memory, r, offset, length);
  const data = new Uint8Array(length);
  eachPiece(address, length, r, (hpfn, off, d, n) =>
    data.set(readPage(hw.memory, hpfn, off, n), d),
  );
  return data;
}

type DmaReadCompletion = { status: 'SC'; data: Uint8Array } | { status: 'UR' | 'CA' };

const completion = (ev: TransactionEvent, data: Uint8Array | undefined): DmaReadCompletion =>
  data === undefined ? { status: ev.verdict as 'UR' | 'CA' } : { status: 'SC', data };

/** A device's memory write: every page is checked before the first byte lands. */
export function fabricDmaWrite(
  hw: PlatformHw,
  views: FabricViews,
  req: DmaWriteRequest,
): Outcome<Verdict> {
  const ev = dmaEvent('MemWr', req.requesterId, req.t, req.address, req.data.length);
  dmaWrite(hw, views, req, ev);
  return { result: ev.verdict, events: [ev] };
}

/** A device's memory read (the completion carries the data). */
export function fabricDmaRead(
  hw: PlatformHw,
  views: FabricViews,
  req: DmaReadRequest,
): Outcome<DmaReadCompletion> {
  const ev = dmaEvent('MemRd', req.requesterId, req.t, req.address, req.length);
  return { result: completion(ev, dmaRead(hw, views, req, ev)), events: [ev] };
}

/**
 * The platform end of a device's link: a device attached to it (`attachUpstream`) has its DMA
 * routed here; each transaction's event goes to `sink` (no Outcome is built per access: this
 * is the per-DMA path).
 */
export function fabricUpstream(
  hw: PlatformHw,
  views: FabricViews,
  sink: (e: PlatformEvent) => void = () => {},
): UpstreamPort {
  return {
    memWrite(req) {
      const ev = dmaEvent('MemWr', req.requesterId, req.t, req.address, req.data.length);
      dmaWrite(hw, views, req, ev);
      sink(ev);
      return ev.verdict;
    },
    memRead(req) {
      const ev = dmaEvent('MemRd', req.requesterId, req.t, req.address, req.length);
      const data = dmaRead(hw, views, req, ev);
      sink(ev);
      return completion(ev, data);
    },
  };
}

// ---- MMIO --------------------------------------------------------------------------------

const allOnes = (n: number) => new Uint8Array(n).fill(0xff);

interface MmioTarget {
  refused?: FabricRefusal;
  deviceReason?: MmioRefusal;
  route?: BarRoute;
  /** The function the secure EPT names, known before the bus routes (and if it refuses). */
  rid?: Rid;
  port?: HostPort;
  offset?: bigint;
  vm?: VmId;
  stream?: number;
}

/** Finds the BAR and device of a bus address; refuses a private BAR page unless `t`. */
function routeBusAddress(
  hw: PlatformHw,
  bus: Bus,
  address: bigint,
  length: number,
  t: boolean,
  out: MmioTarget,
): void {
  const route = barAt(hw.fabric, address, length);
  if (!route) {
    out.refused = 'no-bar';
    return;
  }
  out.route = route;
  if (!t && privateMmioOwner(hw, pfnKeyOf(address)) !== undefined) {
    out.refused = 'private-bar-page';
    return;
  }
  const port = bus.get(busOf(route.rid));
  if (!port) {
    out.refused = 'no-device';
    return;
  }
  out.port = port;
  out.offset = address - route.base;
}

function crossesPage(address: bigint, length: number): boolean {
  return length < 1 || pageOffset(address) + length > PAGE_SIZE;
}

/** Where a guest's MMIO to `gpa` goes: through the shared EPT (T=0) or the secure EPT (T=1). */
function routeGuest(
  hw: PlatformHw,
  bus: Bus,
  views: FabricViews,
  vm: VmId,
  gpa: bigint,
  length: number,
  out: MmioTarget,
): boolean {
  out.vm = vm;
  const mask = hw.fabric.sharedGpaMask;
  if (crossesPage(gpa, length)) {
    out.refused = 'crosses-page';
    return false;
  }
  if ((gpa & mask) !== 0n) {
    const hpfn = hw.sharedEpts.get(vm)?.[pfnKeyOf(gpa & ~mask)];
    if (hpfn === undefined) out.refused = 'shared-ept-not-mapped';
    else
      routeBusAddress(hw, bus, (hpfn << PAGE_SHIFT) | BigInt(pageOffset(gpa)), length, false, out);
    return false;
  }
  const sept = hw.septs.get(vm);
  if (!sept) {
    out.refused = 'no-secure-ept';
    return true;
  }
  const target = septWalk(sept, pfnKeyOf(gpa));
  if (typeof target === 'string') out.refused = `sept-${target}`;
  else if (target.kind !== 'mmio') out.refused = 'sept-memory-target';
  else {
    out.rid = target.rid;
    out.refused = secureLink(hw, views, target.rid, out);
    if (!out.refused && !views.tdiRunning(target.rid)) out.refused = 'tdi-not-run';
  }
  if (out.refused || typeof target === 'string' || target.kind !== 'mmio') return true;
  const rid = target.rid;
  const address = (target.hpfn << PAGE_SHIFT) | BigInt(pageOffset(gpa));
  routeBusAddress(hw, bus, address, length, true, out);
  if (!out.refused && out.route!.rid !== rid) out.refused = 'bar-rid-mismatch';
  return true;
}

function mmioEvent(
  domain: 'host' | 'guest',
  request: 'MemRd' | 'MemWr',
  t: boolean,
  address: bigint,
  length: number,
  m: MmioTarget,
): TransactionEvent {
  const ev: TransactionEvent = {
    kind: 'transaction',
    domain,
    request,
    t,
    address,
    length,
    verdict: m.refused ? STATUS[m.refused] : 'SC',
  };
  if (m.route) ev.rid = m.route.rid;
  else if (m.rid !== undefined) ev.rid = m.rid;
  if (m.vm !== undefined) ev.vm = m.vm;
  if (m.stream !== undefined) ev.stream = m.stream;
  if (m.refused) ev.reason = m.refused;
  if (m.deviceReason) ev.deviceReason = m.deviceReason;
  return ev;
}

function mmioRead(
  domain: 'host' | 'guest',
  address: bigint,
  size: number,
  t: boolean,
  m: MmioTarget,
): Outcome<MmioAccess> {
  let data: Uint8Array | undefined;
  if (!m.refused) {
    const r = m.port!.mmioRead(m.route!.fn, m.route!.bar, m.offset!, size, { t });
    if (r.status === 'SC') data = r.data;
    else {
      m.refused = 'device-refused';
      m.deviceReason = r.reason;
    }
  }
  const ev = mmioEvent(domain, 'MemRd', t, address, size, m);
  return { result: { status: ev.verdict, data: data ?? allOnes(size) }, events: [ev] };
}

function mmioWrite(
  domain: 'host' | 'guest',
  address: bigint,
  data: Uint8Array,
  t: boolean,
  m: MmioTarget,
): Outcome<{ status: Verdict }> {
  if (!m.refused) {
    const r = m.port!.mmioWrite(m.route!.fn, m.route!.bar, m.offset!, data, { t });
    if (r.status !== 'SC') {
      m.refused = 'device-refused';
      m.deviceReason = r.reason;
    }
  }
  const ev = mmioEvent(domain, 'MemWr', t, address, data.length, m);
  return { result: { status: ev.verdict }, events: [ev] };
}

/** The host CPU reads `size` bytes at bus address `address` (T=0). */
export function hostMmioRead(
  hw: PlatformHw,
  bus: Bus,
  address: bigint,
  size: number,
): Outcome<MmioAccess> {
  const m: MmioTarget = {};
  if (crossesPage(address, size)) m.refused = 'crosses-page';
  else routeBusAddress(hw, bus, address, size, false, m);
  return mmioRead('host', address, size, false, m);
}

/** The host CPU writes `data` at bus address `address` (T=0); a refused write is dropped. */
export function hostMmioWrite(
  hw: PlatformHw,
  bus: Bus,
  address: bigint,
  data: Uint8Array,
): Outcome<{ status: Verdict }> {
  const m: MmioTarget = {};
  if (crossesPage(address, data.length)) m.refused = 'crosses-page';
  else routeBusAddress(hw, bus, address, data.length, false, m);
  return mmioWrite('host', address, data, false, m);
}

/** Guest `vm` reads `size` bytes at `gpa`: shared GPA with T=0, private GPA with T=1. */
export function guestMmioRead(
  hw: PlatformHw,
  bus: Bus,
  views: FabricViews,
  vm: VmId,
  gpa: bigint,
  size: number,
): Outcome<MmioAccess> {
  const m: MmioTarget = {};
  const t = routeGuest(hw, bus, views, vm, gpa, size, m);
  return mmioRead('guest', gpa, size, t, m);
}

/** Guest `vm` writes `data` at `gpa`; a refused write is dropped. */
export function guestMmioWrite(
  hw: PlatformHw,
  bus: Bus,
  views: FabricViews,
  vm: VmId,
  gpa: bigint,
  data: Uint8Array,
): Outcome<{ status: Verdict }> {
  const m: MmioTarget = {};
  const t = routeGuest(hw, bus, views, vm, gpa, data.length, m);
  return mmioWrite('guest', gpa, data, t, m);
}
