/**
 * The viewer's model (web/src/model.ts) and the trace reading and decoding behind it: lanes
 * by trust domain, arrows named by the real operation with its result, TDI timelines,
 * failures, filters, records of unknown kinds shown generically; the trace file formats;
 * the SPDM fields decoded against the connection.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PCI_TDISP_LOCK_INTERFACE_REQ } from '../../src/wire/tdisp/index.ts';
import { decodeTraceWire } from '../../src/world/trace-decode.ts';
import { type JsonRecord, parseTraceText, TraceFileError } from '../../src/world/trace-file.ts';
import {
  buildModel,
  filterEvents,
  searchText,
  tdiStateAt,
  type ViewModel,
} from '../../web/src/model.ts';
import { emuTrace, syntheticTrace, UNKNOWN_KINDS } from './traces.ts';

describe('viewer model', () => {
  let records: JsonRecord[];
  let model: ViewModel;
  before(async () => {
    records = [...(await emuTrace()), ...UNKNOWN_KINDS];
    decodeTraceWire(records);
    model = buildModel(records);
  });

  const lane = (title: string) => model.lanes.findIndex((l) => l.title === title);

  it('puts components in lanes grouped by trust domain, guest first and the device last', () => {
    const order = model.lanes.map((l) => `${l.domain}:${l.title}`);
    for (const want of [
      'guest:guest CPU',
      'host:host CPU',
      'tsm:TSM',
      'device:DSM',
      'device:device',
    ]) {
      assert.ok(order.includes(want), order.join(' '));
    }
    const domains = model.lanes.map((l) => l.domain);
    assert.deepEqual(
      domains,
      [...domains].sort(
        (a, b) =>
          ['guest', 'vmm', 'host', 'tsm', 'device', 'scenario'].indexOf(a) -
          ['guest', 'vmm', 'host', 'tsm', 'device', 'scenario'].indexOf(b),
      ),
    );
  });

  it('draws each SPDM message as an arrow between TSM and DSM with its name, bytes and decoded fields', () => {
    const get = model.events.find((e) => e.op === 'SPDM GET_VERSION')!;
    assert.equal(get.from, lane('TSM'));
    assert.equal(get.to, lane('DSM'));
    assert.equal(get.wire?.hex, '10840000');
    assert.deepEqual(get.wire?.fields, { version: 0x10, code: 0x84 });
    const lock = model.events.find((e) => e.op === 'TDISP LOCK_INTERFACE_REQUEST')!;
    const fields = lock.wire?.fields as { payload: { TDISP: { code: number } } };
    assert.equal(fields.payload.TDISP.code, PCI_TDISP_LOCK_INTERFACE_REQ);
    const rsp = model.events.find((e) => e.op === 'SPDM KEY_EXCHANGE_RSP')!;
    assert.equal(
      (rsp.wire!.fields as { error?: string }).error,
      undefined,
      'decoded with the negotiated sizes',
    );
  });

  it("follows the TDI's state from the DSM's TDI_STATE events", () => {
    assert.equal(model.tdis.length, 1);
    const t = model.tdis[0];
    assert.equal(t.initial, 'CONFIG_UNLOCKED');
    assert.deepEqual(
      t.changes.map((c) => c.to),
      ['CONFIG_LOCKED', 'RUN', 'CONFIG_UNLOCKED'].filter((s) => t.changes.some((c) => c.to === s)),
    );
    const run = t.changes.find((c) => c.to === 'RUN')!;
    assert.equal(tdiStateAt(t, run.index - 1), 'CONFIG_LOCKED');
    assert.equal(tdiStateAt(t, run.index), 'RUN');
    assert.equal(tdiStateAt(t, 0), 'CONFIG_UNLOCKED');
  });

  it('lists the failed checks as failures', () => {
    const failed = model.failures.map((p) => model.events[p].op);
    assert.deepEqual(failed, [
      'TDI is ERROR after the trigger',
      'a TDI in ERROR takes no T=1 traffic',
    ]);
    assert.ok(model.failures.every((p) => model.events[p].status === 'failed'));
  });

  it('shows records of unknown kinds from their actor, target, op, result and args', () => {
    const guest = model.events.find((e) => e.kind === 'guest')!;
    assert.equal(model.lanes[guest.from].title, 'guest kernel');
    assert.equal(guest.op, 'tdx_accept_device');
    assert.equal(guest.result, 'ok');
    assert.equal(guest.tdi, 1);
    const host = model.events.find((e) => e.kind === 'host-op')!;
    assert.deepEqual(
      [model.lanes[host.from].title, model.lanes[host.to].title],
      ['VMM', 'iommufd'],
    );
    assert.equal(host.op, 'IOMMU_VDEVICE_ALLOC');
    assert.equal(host.result, '-EBUSY');
    assert.equal(host.status, 'refused');
    assert.deepEqual(host.args, { tdi: 1, viommu: 3 });
    // Not even an object, or no kind at all: skipped or shown, never a throw.
    const odd = buildModel([42, null, { hello: 1 }, { kind: 'dsm' }, { kind: 'spdm' }]);
    assert.equal(odd.events.length, 3);
  });

  it("draws the IOMMU's report of a dropped T=1 DMA in the TSM's lane with the TDI's new state", () => {
    const m = buildModel([
      {
        kind: 'platform',
        domain: 'tsm',
        event: {
          kind: 'dma-fault',
          op: 'DMAR_FAULT',
          rid: 1,
          vm: 'td1',
          request: 'MemWr',
          address: '0x8000',
          reason: 'secure-dma-blocked',
          tdiState: 'ERROR',
        },
      },
    ]);
    const [e] = m.events;
    assert.equal(m.lanes[e.from].domain, 'tsm');
    assert.equal(e.op, 'DMAR_FAULT');
    assert.equal(e.result, 'TDI 1 ERROR: secure-dma-blocked');
  });

  it('filters by words, component, TDI, operation and problems', () => {
    const ops = (f: Parameters<typeof filterEvents>[1]) =>
      [...filterEvents(model, f)].map((p) => model.events[p]);
    const lock = ops({ text: 'lock_interface' });
    assert.ok(
      lock.length >= 3 && lock.every((e) => searchText(model, e).includes('lock_interface')),
    );
    const dsm = lane('DSM');
    assert.ok(ops({ lane: dsm }).every((e) => e.from === dsm || e.to === dsm));
    assert.ok(ops({ tdi: 1 }).length > 0 && ops({ tdi: 1 }).every((e) => e.tdi === 1));
    assert.ok(ops({ op: 'SPDM GET_VERSION' }).length === 1);
    const problems = ops({ problems: true });
    assert.ok(problems.every((e) => e.status === 'failed' || e.status === 'refused'));
    assert.equal(problems.filter((e) => e.status === 'failed').length, 2);
    assert.equal(ops({}).length, model.events.length);
  });

  it('builds and filters a 100,000-record synthetic trace', () => {
    const big = buildModel(syntheticTrace(100_000));
    assert.equal(big.events.length, 100_000);
    assert.equal(big.tdis.length, 4);
    assert.equal(big.failures.length, 10);
    assert.equal(filterEvents(big, { tdi: 2, op: 'TDI_STATE' }).length, 2_500);
  });
});

describe('trace files', () => {
  const a = { kind: 'step', title: 'x' };
  const b = { kind: 'check', name: 'y', ok: true, detail: '' };

  it('reads JSON lines, a JSON array and an object with records', () => {
    assert.deepEqual(parseTraceText(`${JSON.stringify(a)}\n\n${JSON.stringify(b)}\n`), [a, b]);
    assert.deepEqual(parseTraceText(JSON.stringify([a, b])), [a, b]);
    assert.deepEqual(parseTraceText(JSON.stringify({ title: 't', records: [a] })), [a]);
    assert.deepEqual(parseTraceText(JSON.stringify(a)), [a]);
    assert.deepEqual(parseTraceText('  \n'), []);
  });

  it('names the line or record that is not a trace record', () => {
    assert.throws(
      () => parseTraceText(`${JSON.stringify(a)}\n{oops`),
      (e: Error) => {
        assert.ok(e instanceof TraceFileError);
        assert.match(e.message, /^line 2: not JSON/);
        return true;
      },
    );
    assert.throws(
      () => parseTraceText(`${JSON.stringify(a)}\n[1]`),
      /^.*line 2: not a trace record/,
    );
    assert.throws(() => parseTraceText('[1]'), /record 0: not a trace record/);
  });

  it('gives bytes that do not decode an error in words instead of fields', () => {
    const recs: JsonRecord[] = [
      { kind: 'spdm', direction: 'to-device', bytes: '10' },
      { kind: 'spdm', direction: 'to-device', bytes: 'zz' },
    ];
    decodeTraceWire(recs);
    assert.match((recs[0].fields as { error: string }).error, /SPDM/);
    assert.match((recs[1].fields as { error: string }).error, /not a hex string/);
  });
});
