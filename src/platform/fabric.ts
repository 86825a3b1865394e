/**
 * The PCIe fabric between CPUs, memory and devices (PCIe 6.x 2.2 memory requests, 11.2 the T
 * bit, 6.33 IDE): it routes each transaction with its requester id, T bit and IDE stream and
 * says why it refuses one.
 *
 * - DMA from a device (the device's UpstreamPort): T=0 translates through the host's IOMMU
 *   domain of the requester and may land only in shared memory; T=1 needs the requester's IDE
 *   stream Secure at the root port and at the device, an accepted trusted DMA context, the
 *   TDI in RUN (the TSM's view), and a present secure-EPT entry of that VM backed by a page
 *   private to that same VM.
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
import { busOf, PAGE_SHIFT, PAGE_SIZE, pageOffset, type Rid, type VmId } from './ids.ts';
import { forEachPage, readPage, writePage } from './memory.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';
import { rootPortStreamState } from './root-port.ts';
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

/** The VM whose secure EPT maps bus page `pfn` as private MMIO (entries not yet removed). */
export function privateMmioOwner(hw: PlatformHw, pfn: bigint): VmId | undefined {
  for (const sept of hw.septs.values()) {
    for (const e of sept.entries.values()) {
      if (e.target.kind === 'mmio' && e.target.hpfn === pfn && e.state !== 'removed')
        return sept.vm;
    }
  }
  return undefined;
}

// ---- DMA ---------------------------------------------------------------------------------

interface DmaRoute {
  /** The refusal, or undefined when every page is routed. */
  refused?: FabricRefusal;
  vm?: VmId;
  stream?: number;
  /** Host page of each page-sized piece, in order. */
  pages: bigint[];
}

/** The stream and TSM checks a T=1 request needs before any page is looked at. */
function secureRequester(
  hw: PlatformHw,
  views: FabricViews,
  rid: Rid,
  r: DmaRoute,
): FabricRefusal | undefined {
  const stream = hw.rootPort.rids.get(rid);
  if (stream === undefined) return 'no-ide-stream';
  r.stream = stream;
  if (rootPortStreamState(hw.rootPort, stream) !== 'secure') return 'ide-stream-insecure-root-port';
  if (!views.linkSecure(rid, stream)) return 'ide-stream-insecure-device';
  const ctx = hw.iommu.secure.get(rid);
  if (ctx === undefined) return 'no-secure-dma-context';
  r.vm = ctx.vm;
  if (ctx.state === 'blocked') return 'secure-dma-blocked';
  if (ctx.state !== 'accepted') return 'secure-dma-not-accepted';
  if (!views.tdiRunning(rid)) return 'tdi-not-run';
  if (!hw.septs.has(ctx.vm)) return 'no-secure-ept';
  return undefined;
}

function routeDma(
  hw: PlatformHw,
  views: FabricViews,
  rid: Rid,
  t: boolean,
  address: bigint,
  length: number,
  write: boolean,
): DmaRoute {
  const r: DmaRoute = { pages: [] };
  if (t) {
    r.refused = secureRequester(hw, views, rid, r);
    if (r.refused) return r;
    const sept = hw.septs.get(r.vm as VmId)!;
    const vm = r.vm;
    forEachPage(address, length, (pfn) => {
      if (r.refused) return;
      const e = sept.entries.get(pfn);
      if (e === undefined) r.refused = 'sept-not-mapped';
      else if (e.state !== 'present') r.refused = `sept-${e.state}`;
      else if (e.target.kind !== 'memory') r.refused = 'sept-mmio-target';
      else {
        const owner = hw.memory.pages.get(e.target.hpfn);
        if (owner === undefined) r.refused = 'not-host-memory';
        else if (owner.kind !== 'private' || owner.vm !== vm) r.refused = 'page-not-private-to-vm';
        else r.pages.push(e.target.hpfn);
      }
    });
    return r;
  }
  const domain = hw.iommu.attached.get(rid);
  const table = domain === undefined ? undefined : hw.iommu.domains.get(domain);
  if (table === undefined) {
    r.refused = 'no-iommu-domain';
    return r;
  }
  forEachPage(address, length, (pfn) => {
    if (r.refused) return;
    const m = table.get(pfn);
    if (m === undefined) r.refused = 'iommu-not-mapped';
    else if (write && !m.writable) r.refused = 'iommu-read-only';
    else {
      const owner = hw.memory.pages.get(m.hpfn);
      if (owner === undefined) r.refused = 'not-host-memory';
      else if (owner.kind !== 'shared') r.refused = 'private-page-untrusted-dma';
      else r.pages.push(m.hpfn);
    }
  });
  return r;
}

function dmaEvent(
  request: 'MemRd' | 'MemWr',
  rid: Rid,
  t: boolean,
  address: bigint,
  length: number,
  r: DmaRoute,
): TransactionEvent {
  const ev: TransactionEvent = {
    kind: 'transaction',
    domain: 'device',
    request,
    t,
    address,
    length,
    rid,
    verdict: r.refused ? STATUS[r.refused] : 'SC',
  };
  if (r.vm !== undefined) ev.vm = r.vm;
  if (r.stream !== undefined) ev.stream = r.stream;
  if (r.refused) ev.reason = r.refused;
  return ev;
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

/** A device's memory write: every page is checked before the first byte lands. */
export function fabricDmaWrite(
  hw: PlatformHw,
  views: FabricViews,
  req: DmaWriteRequest,
): Outcome<Verdict> {
  const { requesterId: rid, address, data, t } = req;
  const r = routeDma(hw, views, rid, t, address, data.length, true);
  const ev = dmaEvent('MemWr', rid, t, address, data.length, r);
  if (r.refused) return { result: ev.verdict, events: [ev] };
  const off = pageOffset(address);
  if (r.pages.length === 1) writePage(hw.memory, r.pages[0], off, data);
  else {
    let i = 0;
    forEachPage(address, data.length, (_pfn, o, d, n) => {
      writePage(hw.memory, r.pages[i++], o, data.subarray(d, d + n));
    });
  }
  return { result: 'SC', events: [ev] };
}

/** A device's memory read (the completion carries the data). */
export function fabricDmaRead(
  hw: PlatformHw,
  views: FabricViews,
  req: DmaReadRequest,
): Outcome<{ status: 'SC'; data: Uint8Array } | { status: 'UR' | 'CA' }> {
  const { requesterId: rid, address, length, t } = req;
  const r = routeDma(hw, views, rid, t, address, length, false);
  const ev = dmaEvent('MemRd', rid, t, address, length, r);
  if (r.refused) return { result: { status: STATUS[r.refused] }, events: [ev] };
  const data = new Uint8Array(length);
  let i = 0;
  forEachPage(address, length, (_pfn, o, d, n) =>
    data.set(readPage(hw.memory, r.pages[i++], o, n), d),
  );
  return { result: { status: 'SC', data }, events: [ev] };
}

/**
 * The platform end of a device's link: a device attached to it (`attachUpstream`) has its DMA
 * routed here; events go to `sink`.
 */
export function fabricUpstream(
  hw: PlatformHw,
  views: FabricViews,
  sink: (e: PlatformEvent) => void = () => {},
): UpstreamPort {
  return {
    memWrite(req) {
      const o = fabricDmaWrite(hw, views, req);
      for (const e of o.events) sink(e);
      return o.result;
    },
    memRead(req) {
      const o = fabricDmaRead(hw, views, req);
      for (const e of o.events) sink(e);
      return o.result;
    },
  };
}

// ---- MMIO --------------------------------------------------------------------------------

const allOnes = (n: number) => new Uint8Array(n).fill(0xff);

interface MmioTarget {
  refused?: FabricRefusal;
  deviceReason?: MmioRefusal;
  route?: BarRoute;
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
  if (!t && privateMmioOwner(hw, address >> PAGE_SHIFT) !== undefined) {
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
    const gfn = (gpa & ~mask) >> PAGE_SHIFT;
    const hpfn = hw.sharedEpts.get(vm)?.get(gfn);
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
  const e = sept.entries.get(gpa >> PAGE_SHIFT);
  if (e === undefined) out.refused = 'sept-not-mapped';
  else if (e.state !== 'present') out.refused = `sept-${e.state}`;
  else if (e.target.kind !== 'mmio') out.refused = 'sept-memory-target';
  if (out.refused || e === undefined || e.target.kind !== 'mmio') return true;
  const rid = e.target.rid;
  const stream = hw.rootPort.rids.get(rid);
  if (stream === undefined) out.refused = 'no-ide-stream';
  else {
    out.stream = stream;
    if (rootPortStreamState(hw.rootPort, stream) !== 'secure')
      out.refused = 'ide-stream-insecure-root-port';
    else if (!views.linkSecure(rid, stream)) out.refused = 'ide-stream-insecure-device';
    else if (!views.tdiRunning(rid)) out.refused = 'tdi-not-run';
  }
  if (out.refused) return true;
  routeBusAddress(
    hw,
    bus,
    (e.target.hpfn << PAGE_SHIFT) | BigInt(pageOffset(gpa)),
    length,
    true,
    out,
  );
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
