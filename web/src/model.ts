/**
 * The viewer's model of a teeio trace (src/world/trace.ts records, as `teeio demo --json`
 * writes them): every record one row, an arrow from the component that acted to the one it
 * acted on (or a mark on one component for what happened inside it), with the real
 * operation name and its result; components grouped by trust domain; each TDI's state over
 * the trace from the device's TDI_STATE events; the failed checks. Pure, no DOM: the page
 * renders it and the tests read it in Node.
 *
 * Tolerant: a record of a kind not known here is shown from the fields records share
 * (actor/domain/layer, target, op/call/name/action, result/status/errno/ok, args), so traces
 * from newer writers (host uAPI and guest events) render before this file learns them.
 */

/** Trust domains, left to right as the page draws them. */
export type DomainId = 'guest' | 'vmm' | 'host' | 'tsm' | 'device' | 'scenario';

export const DOMAINS: readonly { id: DomainId; title: string }[] = [
  { id: 'guest', title: 'guest' },
  { id: 'vmm', title: 'VMM' },
  { id: 'host', title: 'host kernel' },
  { id: 'tsm', title: 'TSM' },
  { id: 'device', title: 'device' },
  { id: 'scenario', title: 'scenario' },
];

/** Components in the order a domain's lanes are drawn; others follow in trace order. */
const LANE_ORDER = [
  'guest CPU',
  'guest kernel',
  'VMM',
  'host CPU',
  'kvm',
  'vfio',
  'iommufd',
  'dma-buf',
  'pci-tsm',
  'tsm driver',
  'IOMMU',
  'TSM',
  'root port',
  'DSM',
  'device',
  'checks',
];

export interface Lane {
  title: string;
  domain: DomainId;
}

/**
 * ok: done or answered; refused: an operation the system refused (an errno, a UR, an
 * error status), often on purpose; failed: a failed check or a model violation.
 */
export type Status = 'ok' | 'refused' | 'failed' | 'info';

export interface Wire {
  hex: string;
  protocol: string;
  name: string;
  detail: string;
  malformed?: string;
  direction: string;
  sessionId?: number;
  /** Decoded fields (src/world/trace-decode.ts), when the page's writer decoded them. */
  fields?: unknown;
}

export interface ViewEvent {
  /** Position in the trace. */
  index: number;
  kind: string;
  /** Lane indexes; -1 for a step (a section row spanning every lane). */
  from: number;
  to: number;
  op: string;
  result: string;
  status: Status;
  /** The TDI (function number) the event is about, when it names one. */
  tdi?: number;
  /** Index into ViewModel.steps of the step this event is in, -1 before the first. */
  step: number;
  args: Record<string, unknown>;
  wire?: Wire;
  raw: unknown;
  /** Lower-case text the search box matches (searchText; made on the first search). */
  search?: string;
}

export interface TdiChange {
  index: number;
  from: string;
  to: string;
  cause: string;
}

/** One TDI's state over the trace. */
export interface TdiTimeline {
  fn: number;
  initial: string;
  changes: TdiChange[];
}

export interface ViewModel {
  lanes: Lane[];
  events: ViewEvent[];
  steps: string[];
  tdis: TdiTimeline[];
  /** Positions in `events` of the failed checks and violations. */
  failures: number[];
  /** Every operation name, sorted, for the operation filter. */
  ops: string[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : undefined;
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? v : undefined;

function without(o: Obj, ...keys: string[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** Components a generic record may name, and their domains. */
const KNOWN_COMPONENTS: Record<string, [DomainId, string]> = {
  guest: ['guest', 'guest kernel'],
  'guest kernel': ['guest', 'guest kernel'],
  'guest CPU': ['guest', 'guest CPU'],
  vmm: ['vmm', 'VMM'],
  qemu: ['vmm', 'VMM'],
  host: ['host', 'host CPU'],
  'host CPU': ['host', 'host CPU'],
  'pci-tsm': ['host', 'pci-tsm'],
  vfio: ['host', 'vfio'],
  'dma-buf': ['host', 'dma-buf'],
  iommufd: ['host', 'iommufd'],
  kvm: ['host', 'kvm'],
  iommu: ['host', 'IOMMU'],
  tsm: ['tsm', 'TSM'],
  dsm: ['device', 'DSM'],
  device: ['device', 'device'],
};

const DOMAIN_IDS = new Set<string>(DOMAINS.map((d) => d.id));

/** The lane a generic record's actor or target names. */
function componentOf(name: string, layer: string | undefined): [DomainId, string] {
  if (layer && KNOWN_COMPONENTS[layer]) return KNOWN_COMPONENTS[layer];
  const known = KNOWN_COMPONENTS[name] ?? KNOWN_COMPONENTS[name.toLowerCase()];
  if (known && !(layer && DOMAIN_IDS.has(name))) return known;
  if (DOMAIN_IDS.has(name)) return [name as DomainId, layer ?? name];
  return ['scenario', name];
}

/** Finds a TDI (function number) an event names: fn, tdi or a one-TDI list. */
function tdiOf(...objs: unknown[]): number | undefined {
  for (const o of objs) {
    if (!isObj(o)) continue;
    const t = num(o.tdi) ?? num(o.fn) ?? num(o.tdiFn);
    if (t !== undefined) return t;
    if (Array.isArray(o.tdis) && o.tdis.length === 1) return num(o.tdis[0]);
  }
  return undefined;
}

interface Draft {
  from: [DomainId, string];
  to?: [DomainId, string];
  op: string;
  result: string;
  status: Status;
  tdi?: number;
  args: Obj;
  wire?: Wire;
}

const TSM: [DomainId, string] = ['tsm', 'TSM'];
const DSM: [DomainId, string] = ['device', 'DSM'];
const DEVICE: [DomainId, string] = ['device', 'device'];
const CPU: Record<string, [DomainId, string]> = {
  host: ['host', 'host CPU'],
  guest: ['guest', 'guest CPU'],
  device: DEVICE,
};

function spdm(r: Obj): Draft {
  const d = isObj(r.description) ? r.description : {};
  const toDevice = r.direction === 'to-device';
  const name = str(d.name) ?? '(unknown)';
  const malformed = str(d.malformed);
  const hex = str(r.bytes) ?? '';
  const wire: Wire = {
    hex,
    protocol: str(d.protocol) ?? 'SPDM',
    name,
    detail: str(d.detail) ?? '',
    direction: str(r.direction) ?? '',
    fields: r.fields,
  };
  if (malformed) wire.malformed = malformed;
  if (num(r.sessionId) !== undefined) wire.sessionId = num(r.sessionId);
  const isError = /(^|_)ERROR$/.test(name);
  return {
    from: toDevice ? TSM : DSM,
    to: toDevice ? DSM : TSM,
    op: `${wire.protocol} ${name}`,
    result: malformed ? `malformed: ${malformed}` : wire.detail,
    status: malformed || isError ? 'refused' : 'ok',
    args: {
      protocol: wire.protocol,
      direction: wire.direction,
      bytes: hex.length / 2,
      ...(wire.sessionId === undefined ? {} : { sessionId: `0x${wire.sessionId.toString(16)}` }),
      detail: wire.detail,
    },
    wire,
  };
}

function dsm(e: Obj): Draft {
  const kind = str(e.kind) ?? 'dsm';
  const args = without(e, 'kind');
  const base: Draft = { from: DSM, op: kind, result: '', status: 'info', args, tdi: tdiOf(e) };
  const result = str(e.result) ?? '';
  const refusedResult = /ERROR|UNSUPPORTED|INVALID/.test(result) || e.malformed !== undefined;
  switch (kind) {
    case 'TDISP_REQUEST':
    case 'CXL_TSP_REQUEST':
      return {
        ...base,
        op: str(e.request) ?? kind,
        result,
        status: refusedResult ? 'refused' : 'ok',
      };
    case 'IDE_KM_REQUEST':
    case 'CXL_IDE_KM_REQUEST':
      return {
        ...base,
        op: `${kind.replace('_REQUEST', '')} ${str(e.object) ?? ''}`.trim(),
        result,
        status: refusedResult ? 'refused' : 'ok',
      };
    case 'TDI_STATE':
      return { ...base, op: 'TDI_STATE', result: `${e.from} -> ${e.to}`, status: 'ok' };
    case 'CXL_TSP_STATE':
      return { ...base, result: `${e.from} -> ${e.to}`, status: 'ok' };
    case 'IDE_STREAM_STATE':
      return { ...base, op: `IDE stream ${e.streamId}`, result: str(e.state) ?? '', status: 'ok' };
    case 'CXL_IDE_STATE':
      return {
        ...base,
        op: `CXL IDE port ${e.portIndex} ${e.direction}`,
        result: str(e.state) ?? '',
      };
    case 'ERROR_TRIGGER': {
      const tdis = Array.isArray(e.tdis) ? e.tdis : [];
      const cause = isObj(e.event) ? str(e.event.kind) : undefined;
      return {
        ...base,
        op: `ERROR trigger ${cause ?? ''}`.trim(),
        result: tdis.length ? `TDI ${tdis.join(', ')} -> ERROR` : 'no TDI affected',
      };
    }
    case 'SCRUB':
      return { ...base, result: 'scrubbed', status: 'ok' };
    case 'MSIX_LOCK':
      return { ...base, op: 'MSI-X table lock', result: e.locked ? 'locked' : 'unlocked' };
    case 'IGNORED':
      return {
        ...base,
        op: `${e.protocol} request ignored`,
        result: str(e.reason) ?? '',
        status: 'refused',
      };
    case 'INTERNAL_ERROR':
      return {
        ...base,
        op: `${e.protocol} internal error`,
        result: str(e.message) ?? '',
        status: 'failed',
      };
    default:
      return { ...base, result: result || (str(e.state) ?? '') };
  }
}

function platform(r: Obj, e: Obj): Draft {
  const kind = str(e.kind) ?? 'platform';
  const domain = str(r.domain) ?? 'host';
  const args = without(e, 'kind');
  const op = str(e.op) ?? kind;
  const here: [DomainId, string] =
    domain === 'tsm'
      ? kind === 'root-port-ide'
        ? ['tsm', 'root port']
        : TSM
      : domain === 'guest'
        ? ['guest', 'guest kernel']
        : domain === 'device'
          ? DEVICE
          : kind === 'iommu'
            ? ['host', 'IOMMU']
            : kind === 'shared-ept'
              ? ['host', 'kvm']
              : ['host', 'host CPU'];
  switch (kind) {
    case 'transaction': {
      const verdict = str(e.verdict) ?? '';
      const from = CPU[domain] ?? here;
      const to: [DomainId, string] = domain === 'device' ? (e.t ? TSM : ['host', 'IOMMU']) : DEVICE;
      const reason = str(e.reason);
      return {
        from,
        to,
        op: `${e.request ?? 'Mem'}${e.t ? ' T=1' : ''} ${e.address ?? ''}`.trim(),
        result: reason ? `${verdict} ${reason}` : verdict,
        status: verdict === 'SC' ? 'ok' : 'refused',
        args,
        tdi: tdiOf(e),
      };
    }
    case 'sept':
      return { from: here, op, result: str(e.state) ?? 'removed', status: 'ok', args };
    case 'memory':
      return { from: here, op, result: `hpfn ${e.hpfn}`, status: 'ok', args };
    case 'root-port-ide':
      return { from: here, op, result: `stream ${e.streamId} ${e.state}`, status: 'ok', args };
    // The IOMMU's report of a dropped T=1 DMA (switch droppedDma 'report'): the TDI's new state.
    case 'dma-fault':
      return {
        from: here,
        op,
        result: `TDI ${e.rid} ${e.tdiState}: ${e.reason}`,
        status: 'ok',
        args,
      };
    case 'refused':
      return { from: here, op, result: `${e.error}: ${e.reason}`, status: 'refused', args };
    default:
      return { from: here, op, result: str(e.state) ?? '', status: 'ok', args };
  }
}

function generic(r: Obj): Draft {
  const e = isObj(r.event) ? r.event : {};
  const pick = (...keys: string[]) => {
    for (const k of keys) {
      const v = str(r[k]) ?? str(e[k]);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const layer = pick('layer', 'component');
  const actor = pick('actor', 'from', 'domain', 'source') ?? layer ?? 'scenario';
  const target = pick('target', 'to', 'callee');
  const ok = typeof r.ok === 'boolean' ? r.ok : typeof e.ok === 'boolean' ? e.ok : undefined;
  const errno = pick('errno');
  const violation = /violation|invariant|monitor/i.test(str(r.kind) ?? '') || r.violation === true;
  const result =
    pick('result', 'status', 'verdict') ??
    (errno ? `-${errno}` : ok === true ? 'ok' : ok === false ? 'failed' : '');
  const detail = pick('detail', 'message');
  const args = isObj(r.args) ? r.args : isObj(e.args) ? e.args : without({ ...e, ...r }, 'kind');
  return {
    from: componentOf(actor, layer),
    to: target === undefined ? undefined : componentOf(target, undefined),
    op:
      pick('op', 'call', 'name', 'action', 'title', 'request') ?? str(e.kind) ?? str(r.kind) ?? '?',
    result: detail && ok === false ? `${result}: ${detail}` : result,
    status:
      (violation && ok !== true) || r.violation === true
        ? 'failed'
        : ok === false || errno
          ? 'refused'
          : ok
            ? 'ok'
            : 'info',
    tdi: tdiOf(r, e, r.args, e.args),
    args,
  };
}

function draft(r: Obj): Draft {
  const e = isObj(r.event) ? r.event : undefined;
  switch (r.kind) {
    case 'spdm':
      return spdm(r);
    case 'dsm':
      return e ? dsm(e) : generic(r);
    case 'access': {
      const result = str(r.result) ?? '';
      return {
        from: CPU[str(r.domain) ?? 'host'] ?? ['host', 'host CPU'],
        to: DEVICE,
        op: str(r.action) ?? 'access',
        result,
        status: /^(SC|ok)\b/i.test(result) ? 'ok' : 'refused',
        args: without(r, 'kind'),
      };
    }
    case 'platform':
      return e ? platform(r, e) : generic(r);
    case 'abi': {
      if (!e) return generic(r);
      const guest = r.domain === 'guest';
      return {
        from: guest ? ['guest', 'guest kernel'] : ['host', 'tsm driver'],
        to: TSM,
        op: str(e.call) ?? 'abi',
        result: e.ok || !e.detail ? (str(e.status) ?? '') : `${e.status}: ${e.detail}`,
        status: e.ok === false ? 'refused' : 'ok',
        tdi: tdiOf(e.args),
        args: { flavour: e.flavour, ...(isObj(e.args) ? e.args : {}) },
      };
    }
    case 'uapi': {
      if (!e) return generic(r);
      const layer = str(e.layer) ?? 'host';
      const res = e.ok ? '0' : `-${e.errno ?? '?'}${e.detail ? `: ${e.detail}` : ''}`;
      return {
        from: layer === 'vmm' ? ['vmm', 'VMM'] : ['host', layer],
        op: str(e.op) ?? 'uapi',
        result: res,
        status: e.ok === false ? 'refused' : 'ok',
        tdi: tdiOf(e.args),
        args: isObj(e.args) ? e.args : {},
      };
    }
    case 'check':
      return {
        from: ['scenario', 'checks'],
        op: str(r.name) ?? 'check',
        result: r.ok ? 'ok' : `FAIL${r.detail ? `: ${r.detail}` : ''}`,
        status: r.ok ? 'ok' : 'failed',
        args: { ok: r.ok, detail: r.detail },
      };
    default:
      return generic(r);
  }
}

/** The text an event's search matches: kind, components, operation, result, TDI, arguments. */
export function searchText(model: ViewModel, ev: ViewEvent): string {
  if (ev.search !== undefined) return ev.search;
  if (ev.kind === 'step') {
    ev.search = `step ${ev.op}`.toLowerCase();
    return ev.search;
  }
  let args = '';
  try {
    args = JSON.stringify(ev.args).slice(0, 400);
  } catch {
    args = '';
  }
  const lanes = `${model.lanes[ev.from]?.title ?? ''} ${model.lanes[ev.to]?.title ?? ''}`;
  const tdi = ev.tdi === undefined ? '' : `tdi ${ev.tdi}`;
  ev.search = `${ev.kind} ${lanes} ${ev.op} ${ev.result} ${tdi} ${args}`.toLowerCase();
  return ev.search;
}

/** Builds the view of a trace's records (any JSON values; records not objects are skipped). */
export function buildModel(records: readonly unknown[]): ViewModel {
  const laneIds = new Map<string, number>();
  const lanes: Lane[] = [];
  const laneOf = ([domain, title]: [DomainId, string]) => {
    const key = `${domain}\u0000${title}`;
    let i = laneIds.get(key);
    if (i === undefined) {
      i = lanes.length;
      laneIds.set(key, i);
      lanes.push({ domain, title });
    }
    return i;
  };
  const events: ViewEvent[] = [];
  const steps: string[] = [];
  const tdiMap = new Map<number, TdiTimeline>();
  records.forEach((r, index) => {
    if (!isObj(r)) return;
    const kind = str(r.kind) ?? '?';
    if (kind === 'step') {
      const title = str(r.title) ?? '';
      steps.push(title);
      events.push({
        index,
        kind,
        from: -1,
        to: -1,
        op: title,
        result: '',
        status: 'info',
        step: steps.length - 1,
        args: {},
        raw: r,
      });
      return;
    }
    const d = draft(r);
    const from = laneOf(d.from);
    const to = d.to ? laneOf(d.to) : from;
    const ev: ViewEvent = {
      index,
      kind,
      from,
      to,
      op: d.op,
      result: d.result,
      status: d.status,
      step: steps.length - 1,
      args: d.args,
      raw: r,
    };
    if (d.tdi !== undefined) ev.tdi = d.tdi;
    if (d.wire) ev.wire = d.wire;
    events.push(ev);
    const e = isObj(r.event) ? r.event : undefined;
    if (kind === 'dsm' && e?.kind === 'TDI_STATE' && num(e.fn) !== undefined) {
      const fn = num(e.fn)!;
      let t = tdiMap.get(fn);
      if (!t) {
        t = { fn, initial: str(e.from) ?? '?', changes: [] };
        tdiMap.set(fn, t);
      }
      t.changes.push({
        index: events.length - 1,
        from: str(e.from) ?? '?',
        to: str(e.to) ?? '?',
        cause: str(e.cause) ?? '',
      });
    }
  });
  // Lanes by domain, then the usual component order, then first appearance.
  const rank = (l: Lane) => {
    const i = LANE_ORDER.indexOf(l.title);
    return i < 0 ? LANE_ORDER.length : i;
  };
  const domainRank = (l: Lane) => DOMAINS.findIndex((d) => d.id === l.domain);
  const order = lanes
    .map((l, i) => ({ l, i }))
    .sort((a, b) => domainRank(a.l) - domainRank(b.l) || rank(a.l) - rank(b.l) || a.i - b.i);
  const remap = new Int32Array(lanes.length);
  order.forEach(({ i }, to) => {
    remap[i] = to;
  });
  for (const ev of events) {
    if (ev.from >= 0) ev.from = remap[ev.from];
    if (ev.to >= 0) ev.to = remap[ev.to];
  }
  const failures: number[] = [];
  const ops = new Set<string>();
  events.forEach((ev, i) => {
    if (ev.status === 'failed') failures.push(i);
    if (ev.kind !== 'step') ops.add(ev.op);
  });
  return {
    lanes: order.map(({ l }) => l),
    events,
    steps,
    tdis: [...tdiMap.values()].sort((a, b) => a.fn - b.fn),
    failures,
    ops: [...ops].sort(),
  };
}

/** The state of a TDI at event position `pos` (after that event), by binary search. */
export function tdiStateAt(t: TdiTimeline, pos: number): string {
  let lo = 0;
  let hi = t.changes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t.changes[mid].index <= pos) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? t.initial : t.changes[found].to;
}

export interface Filter {
  /** Words that must all appear in the event's text (case-insensitive). */
  text?: string;
  /** A lane index: events from or to it. */
  lane?: number;
  tdi?: number;
  op?: string;
  /** Only failed checks, violations and refusals. */
  problems?: boolean;
}

/** Positions in model.events of the events that pass the filter, in trace order. */
export function filterEvents(model: ViewModel, f: Filter): Int32Array {
  const words = (f.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const narrowed = f.lane !== undefined || f.tdi !== undefined || f.op !== undefined || f.problems;
  const out = new Int32Array(model.events.length);
  let n = 0;
  const evs = model.events;
  for (let i = 0; i < evs.length; i++) {
    const ev = evs[i];
    if (ev.kind === 'step') {
      // Section rows stay while only text narrows the view, so matches keep their context.
      if (narrowed) continue;
    } else {
      if (f.lane !== undefined && ev.from !== f.lane && ev.to !== f.lane) continue;
      if (f.tdi !== undefined && ev.tdi !== f.tdi) continue;
      if (f.op !== undefined && ev.op !== f.op) continue;
      if (f.problems && ev.status !== 'failed' && ev.status !== 'refused') continue;
    }
    let all = true;
    const text = words.length ? searchText(model, ev) : '';
    for (const w of words) {
      if (!text.includes(w)) {
        all = false;
        break;
      }
    }
    if (all) out[n++] = i;
  }
  return out.slice(0, n);
}
