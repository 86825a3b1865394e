/**
 * The trace viewer page: a sequence diagram of a teeio trace (model.ts), one row per event,
 * swimlanes per component grouped by trust domain, each TDI's state in a column beside
 * them, the detail of the selected event (arguments, result, wire bytes next to their
 * decoded fields), the failed checks one click away, and search and filters. Only the rows
 * in view exist in the DOM (fixed row height, a spacer for the rest), so a trace of 100,000
 * events scrolls and filters as fast as a short one.
 *
 * The trace comes embedded (`teeio view`, `teeio demo --html`) in the script element
 * #teeio-trace as `{ title, records }`; a page without one offers to open a trace file.
 */
import { parseTraceText } from '../../src/world/trace-file.ts';
import {
  buildModel,
  DOMAINS,
  type Filter,
  filterEvents,
  tdiStateAt,
  type ViewEvent,
  type ViewModel,
} from './model.ts';

const ROW_H = 24;
const IDX_W = 52;
const LANE_W = 110;
const TDI_W = 112;
const OVERSCAN = 12;

const TDI_COLOURS: Record<string, string> = {
  CONFIG_UNLOCKED: '#e8eef7',
  CONFIG_LOCKED: '#fff1c2',
  RUN: '#cdeccd',
  ERROR: '#f7c6c6',
};

/** What the page exposes for its tests and measurements. */
export interface ViewerHandle {
  ready: boolean;
  events: number;
  loadMs: number;
  lastFilterMs: number;
  visible: number;
  /** The search text of the filter last applied. */
  text: string;
  select(pos: number): void;
}

declare global {
  interface Window {
    teeioViewer: ViewerHandle;
  }
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  );

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function fmt(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

function hexDump(hex: string): string {
  const lines: string[] = [];
  for (let o = 0; o < hex.length / 2; o += 8) {
    const bytes = hex.slice(o * 2, o * 2 + 16).match(/../g) ?? [];
    lines.push(`${o.toString(16).padStart(4, '0')}  ${bytes.join(' ')}`);
  }
  return lines.join('\n');
}

class Viewer {
  private visible: Int32Array;
  private selected = -1;
  private readonly scroller = $<HTMLDivElement>('scroller');
  private readonly spacer = $<HTMLDivElement>('spacer');
  private readonly rows = $<HTMLDivElement>('rows');
  private readonly detail = $<HTMLDivElement>('detail');
  private readonly width: number;
  /** Left edge of the first lane: the TDI state columns come first, after the index. */
  private readonly lanesX: number;
  private frame = 0;
  private filter: Filter = {};

  constructor(
    private readonly model: ViewModel,
    title: string,
  ) {
    this.visible = filterEvents(model, {});
    this.lanesX = IDX_W + model.tdis.length * TDI_W;
    this.width = this.lanesX + model.lanes.length * LANE_W + 260;
    document.title = `teeio trace: ${title}`;
    $('title').textContent = title;
    this.header();
    this.controls();
    this.failures();
    this.scroller.addEventListener('scroll', () => this.schedule());
    window.addEventListener('resize', () => this.schedule());
    this.rows.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('.row');
      if (row?.dataset.pos) this.select(Number(row.dataset.pos), false);
    });
    document.addEventListener('keydown', (e) => this.key(e));
    this.apply();
  }

  private header(): void {
    const m = this.model;
    const head = $('lanehead');
    let domains = '';
    let titles = '';
    for (const d of DOMAINS) {
      const lanes = m.lanes.filter((l) => l.domain === d.id);
      if (!lanes.length) continue;
      const left = this.lanesX + m.lanes.indexOf(lanes[0]) * LANE_W;
      domains += `<div class="domain d-${d.id}" style="left:${left}px;width:${lanes.length * LANE_W}px">${esc(d.title)}</div>`;
    }
    m.lanes.forEach((l, i) => {
      titles += `<div class="lanetitle d-${l.domain}" style="left:${this.lanesX + i * LANE_W}px;width:${LANE_W}px" title="${esc(l.title)}">${esc(l.title)}</div>`;
    });
    m.tdis.forEach((t, i) => {
      const left = IDX_W + i * TDI_W;
      titles += `<div class="lanetitle tdihead" style="left:${left}px;width:${TDI_W}px">TDI fn ${t.fn}</div>`;
    });
    if (m.tdis.length) {
      domains += `<div class="domain d-tdi" style="left:${IDX_W}px;width:${m.tdis.length * TDI_W}px">TDI state</div>`;
    }
    head.innerHTML = `<div class="headrow">${domains}</div><div class="headrow">${titles}</div>`;
    head.style.width = `${this.width}px`;
    this.spacer.style.width = `${this.width}px`;
    const bg = $('lanelines');
    bg.style.left = `${this.lanesX + LANE_W / 2}px`;
    bg.style.width = `${Math.max(0, (m.lanes.length - 1) * LANE_W) + 1}px`;
    bg.style.backgroundSize = `${LANE_W}px 100%`;
  }

  private controls(): void {
    const m = this.model;
    const lane = $<HTMLSelectElement>('f-lane');
    lane.innerHTML =
      '<option value="">all components</option>' +
      m.lanes
        .map((l, i) => {
          const d = DOMAINS.find((x) => x.id === l.domain)?.title ?? l.domain;
          return `<option value="${i}">${esc(`${d}: ${l.title}`)}</option>`;
        })
        .join('');
    const tdis = new Set<number>();
    for (const ev of m.events) if (ev.tdi !== undefined) tdis.add(ev.tdi);
    $<HTMLSelectElement>('f-tdi').innerHTML =
      '<option value="">all TDIs</option>' +
      [...tdis]
        .sort((a, b) => a - b)
        .map((t) => `<option value="${t}">TDI fn ${t}</option>`)
        .join('');
    $<HTMLSelectElement>('f-op').innerHTML =
      '<option value="">all operations</option>' +
      m.ops
        .slice(0, 5000)
        .map((o) => `<option value="${esc(o)}">${esc(o)}</option>`)
        .join('');
    const onChange = () => this.readFilter();
    for (const id of ['f-lane', 'f-tdi', 'f-op', 'f-problems']) {
      $(id).addEventListener('change', onChange);
    }
    let pending = 0;
    $('f-text').addEventListener('input', () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(onChange);
    });
    $('f-clear').addEventListener('click', () => this.clearFilter());
  }

  private failures(): void {
    const m = this.model;
    const bar = $('failures');
    if (!m.failures.length) {
      bar.className = 'failures none';
      bar.textContent = 'no failed checks';
      return;
    }
    bar.className = 'failures';
    const items = m.failures
      .slice(0, 200)
      .map((pos) => {
        const ev = m.events[pos];
        return `<button class="fail" data-pos="${pos}" title="${esc(ev.result)}">#${ev.index} ${esc(ev.op)}</button>`;
      })
      .join('');
    bar.innerHTML = `<span class="failcount">${m.failures.length} failed check${m.failures.length === 1 ? '' : 's'}</span>${items}`;
    bar.addEventListener('click', (e) => {
      const b = (e.target as HTMLElement).closest<HTMLElement>('button.fail');
      if (b) this.select(Number(b.dataset.pos), true);
    });
  }

  private readFilter(): void {
    const v = (id: string) => $<HTMLInputElement>(id).value;
    const f: Filter = {};
    if (v('f-text').trim()) f.text = v('f-text');
    if (v('f-lane') !== '') f.lane = Number(v('f-lane'));
    if (v('f-tdi') !== '') f.tdi = Number(v('f-tdi'));
    if (v('f-op') !== '') f.op = v('f-op');
    if ($<HTMLInputElement>('f-problems').checked) f.problems = true;
    this.filter = f;
    this.apply();
  }

  private clearFilter(): void {
    for (const id of ['f-text', 'f-lane', 'f-tdi', 'f-op']) $<HTMLInputElement>(id).value = '';
    $<HTMLInputElement>('f-problems').checked = false;
    this.filter = {};
    this.apply();
  }

  /** Filters, then renders; the time both take is what a user waits for. */
  private apply(): void {
    const t0 = performance.now();
    this.visible = filterEvents(this.model, this.filter);
    this.spacer.style.height = `${this.visible.length * ROW_H}px`;
    $('count').textContent =
      this.visible.length === this.model.events.length
        ? `${this.model.events.length} events`
        : `${this.visible.length} of ${this.model.events.length} events`;
    const at = this.rowOf(this.selected);
    if (at >= 0) this.scrollTo(at);
    else {
      // A shorter list: keep the view inside it (chromium may clamp only at the next layout,
      // and the rows drawn before that would be past the end).
      const max = Math.max(0, this.visible.length * ROW_H - this.scroller.clientHeight / 2);
      if (this.scroller.scrollTop > max) this.scroller.scrollTop = max;
    }
    this.render();
    window.teeioViewer.lastFilterMs = performance.now() - t0;
    window.teeioViewer.visible = this.visible.length;
    window.teeioViewer.text = this.filter.text ?? '';
  }

  /** Row of event position `pos` in the filtered list, or -1. */
  private rowOf(pos: number): number {
    const v = this.visible;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid] === pos) return mid;
      if (v[mid] < pos) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private scrollTo(row: number): void {
    const top = row * ROW_H;
    const h = this.scroller.clientHeight;
    if (top < this.scroller.scrollTop || top + ROW_H > this.scroller.scrollTop + h) {
      this.scroller.scrollTop = Math.max(0, top - h / 3);
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const top = this.scroller.scrollTop;
    const h = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.visible.length, Math.ceil((top + h) / ROW_H) + OVERSCAN);
    let html = '';
    for (let row = first; row < last; row++) html += this.rowHtml(row, row === first);
    this.rows.innerHTML = html;
  }

  private rowHtml(row: number, firstShown: boolean): string {
    const m = this.model;
    const pos = this.visible[row];
    const ev = m.events[pos];
    const cls = `row s-${ev.status}${ev.kind === 'step' ? ' k-step' : ''}${pos === this.selected ? ' selected' : ''}`;
    const y = row * ROW_H;
    let inner = `<span class="idx">${ev.index}</span>`;
    if (ev.kind === 'step') {
      inner += `<div class="step" style="left:${this.lanesX}px">${esc(ev.op)}</div>`;
    } else {
      const label = `${esc(ev.op)}${ev.result ? ` <span class="res">${esc(ev.result)}</span>` : ''}`;
      const x1 = this.lanesX + ev.from * LANE_W + LANE_W / 2;
      const x2 = this.lanesX + ev.to * LANE_W + LANE_W / 2;
      if (ev.from === ev.to) {
        inner += `<div class="dot" style="left:${x1 - 4}px"></div><div class="label self" style="left:${x1 + 8}px">${label}</div>`;
      } else {
        const left = Math.min(x1, x2);
        const w = Math.abs(x2 - x1);
        inner += `<div class="arrow ${x2 > x1 ? 'r' : 'l'}" style="left:${left}px;width:${w}px"></div><div class="label" style="left:${left + 6}px;min-width:${w - 12}px">${label}</div>`;
      }
    }
    m.tdis.forEach((t, i) => {
      const state = tdiStateAt(t, pos);
      const before = pos > 0 ? tdiStateAt(t, pos - 1) : t.initial;
      const left = IDX_W + i * TDI_W;
      const show = firstShown || state !== before || row === 0;
      inner += `<div class="tdi${state !== before ? ' change' : ''}" style="left:${left}px;width:${TDI_W - 4}px;background:${TDI_COLOURS[state] ?? '#eee'}">${show ? esc(state) : ''}</div>`;
    });
    return `<div class="${cls}" data-pos="${pos}" style="top:${y}px;width:${this.width}px">${inner}</div>`;
  }

  /** Selects an event; from the failure list, clears a filter that hides it. */
  select(pos: number, reveal: boolean): void {
    if (pos < 0 || pos >= this.model.events.length) return;
    this.selected = pos;
    if (this.rowOf(pos) < 0 && reveal) this.clearFilter();
    const row = this.rowOf(pos);
    if (row >= 0) this.scrollTo(row);
    this.render();
    this.showDetail(this.model.events[pos]);
  }

  private showDetail(ev: ViewEvent): void {
    const m = this.model;
    const lane = (i: number) => (i >= 0 ? m.lanes[i].title : '');
    const step = ev.step >= 0 ? m.steps[ev.step] : '';
    const args = Object.entries(ev.args)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(fmt(v))}</td></tr>`)
      .join('');
    let wire = '';
    if (ev.wire) {
      const w = ev.wire;
      const fields =
        w.fields === undefined
          ? '(not decoded: write the page with teeio view to see the fields)'
          : JSON.stringify(w.fields, null, 2);
      wire = `<h3>${esc(`${w.protocol} ${w.name}`)} <small>${w.hex.length / 2} bytes${w.malformed ? `, malformed: ${esc(w.malformed)}` : ''}</small></h3>
        <div class="wire"><pre class="hex">${esc(hexDump(w.hex))}</pre><pre class="fields">${esc(fields)}</pre></div>`;
    }
    const who =
      ev.kind === 'step'
        ? ''
        : ev.from === ev.to
          ? lane(ev.from)
          : `${lane(ev.from)} → ${lane(ev.to)}`;
    this.detail.innerHTML = `<h2 class="s-${ev.status}">#${ev.index} ${esc(ev.op)}</h2>
      <table class="kv">
        <tr><th>kind</th><td>${esc(ev.kind)}</td></tr>
        ${who ? `<tr><th>between</th><td>${esc(who)}</td></tr>` : ''}
        <tr><th>result</th><td class="result">${esc(ev.result)}</td></tr>
        <tr><th>status</th><td>${ev.status}</td></tr>
        ${ev.tdi === undefined ? '' : `<tr><th>TDI</th><td>fn ${ev.tdi}</td></tr>`}
        ${step && ev.kind !== 'step' ? `<tr><th>step</th><td>${esc(step)}</td></tr>` : ''}
      </table>
      ${args ? `<h3>arguments</h3><table class="kv args">${args}</table>` : ''}
      ${wire}
      <details><summary>record</summary><pre>${esc(JSON.stringify(ev.raw, null, 2))}</pre></details>`;
  }

  private key(e: KeyboardEvent): void {
    if (
      (e.target as HTMLElement).tagName === 'INPUT' ||
      (e.target as HTMLElement).tagName === 'SELECT'
    ) {
      return;
    }
    const row = this.rowOf(this.selected);
    if (e.key === 'j' || e.key === 'ArrowDown') {
      const next = this.visible[Math.min(this.visible.length - 1, row + 1)];
      if (next !== undefined) this.select(next, false);
    } else if (e.key === 'k' || e.key === 'ArrowUp') {
      const prev = this.visible[Math.max(0, row - 1)];
      if (prev !== undefined) this.select(prev, false);
    } else if (e.key === 'n') {
      const next = this.model.failures.find((p) => p > this.selected) ?? this.model.failures[0];
      if (next !== undefined) this.select(next, true);
    } else return;
    e.preventDefault();
  }
}

function start(records: unknown[], title: string): void {
  const model = buildModel(records);
  const viewer = new Viewer(model, title);
  const handle = window.teeioViewer;
  handle.select = (pos) => viewer.select(pos, true);
  handle.events = model.events.length;
  handle.loadMs = performance.now();
  handle.ready = true;
  document.body.dataset.ready = '1';
}

function boot(): void {
  window.teeioViewer = {
    ready: false,
    events: 0,
    loadMs: 0,
    lastFilterMs: 0,
    visible: 0,
    text: '',
    select: () => {},
  };
  const embedded = document.getElementById('teeio-trace')?.textContent?.trim() ?? '';
  if (embedded) {
    const data = JSON.parse(embedded) as { title?: string; records?: unknown[] };
    start(data.records ?? [], data.title ?? 'trace');
    return;
  }
  // No trace embedded: open one (`teeio demo --json` output, a JSON array of records).
  const open = $('open');
  open.hidden = false;
  $<HTMLInputElement>('open-file').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const records = parseTraceText(await file.text());
      open.hidden = true;
      start(records, file.name);
    } catch (err) {
      $('open-error').textContent = (err as Error).message;
    }
  });
}

boot();
