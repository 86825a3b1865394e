/**
 * The RUN-state requests (PCIe 6.x 11.3.18 - 11.3.23): BIND_P2P_STREAM / UNBIND_P2P_STREAM
 * and SET_MMIO_ATTRIBUTE, their INVALID_REQUEST conditions (which leave the TDI as it was),
 * and a bound P2P stream going insecure as an ERROR trigger.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nvme } from '../../../src/device/profiles/nvme.ts';
import { TDISP_ERROR_CODE_NAMES } from '../../../src/wire/tdisp/constants.ts';
import type { TdispMessage } from '../../../src/wire/tdisp/messages.ts';
import { decodeInterfaceReport, type MmioRange } from '../../../src/wire/tdisp/report.ts';
import {
  fetchReport,
  interfaceIdOf,
  lock,
  makeWorld,
  programStream,
  SESSION_A,
  SESSION_B,
  start,
  stopStream,
  tdispMsg,
  tdispReq,
  type World,
} from './harness.ts';

const name = (m: TdispMessage) =>
  m.code === 0x7f ? TDISP_ERROR_CODE_NAMES[m.errorCode] : `0x${m.code.toString(16)}`;

/** NVMe fn 0 in RUN; streams 0, 1, 2 keyed on SESSION_A, stream 3 on SESSION_B. */
function running(flags = 0x0d): World {
  const w = makeWorld(nvme);
  for (const s of [0, 1, 2]) programStream(w, SESSION_A, s);
  programStream(w, SESSION_B, 3);
  const l = lock(w, SESSION_A, 0, { flags }) as { startInterfaceNonce: Uint8Array };
  const s = start(w, SESSION_A, 0, l.startInterfaceNonce);
  assert.equal(s.code, 0x06);
  return w;
}

const bind = (w: World, id: number, session = SESSION_A) =>
  name(tdispMsg(w, session, tdispReq(0x88, interfaceIdOf(w.device, 0), { p2pStreamId: id })));
const unbind = (w: World, id: number, session = SESSION_A) =>
  name(tdispMsg(w, session, tdispReq(0x89, interfaceIdOf(w.device, 0), { p2pStreamId: id })));

describe('BIND_P2P_STREAM / UNBIND_P2P_STREAM', () => {
  test('bind and unbind a keyed stream', () => {
    const w = running();
    assert.equal(bind(w, 1), '0x8');
    assert.equal(bind(w, 2), '0x8');
    assert.equal(unbind(w, 1), '0x9');
    const t = w.dsm.state.tdis[0];
    assert.ok(t.state === 'RUN');
    assert.deepEqual(t.p2pStreams, [2]);
  });

  const refusals: Array<[string, (w: World) => string, number?]> = [
    ['LOCK without BIND_P2P', (w) => bind(w, 1), 0x05],
    ['the default stream', (w) => bind(w, 0)],
    ['a stream without keys', (w) => bind(w, 9)],
    ['a stream keyed by another session', (w) => bind(w, 3)],
    ['from another session', (w) => bind(w, 1, SESSION_B)],
    [
      'twice',
      (w) => {
        bind(w, 1);
        return bind(w, 1);
      },
    ],
    ['unbind a stream never bound', (w) => unbind(w, 2)],
    [
      'unbind from another session',
      (w) => {
        bind(w, 1);
        return unbind(w, 1, SESSION_B);
      },
    ],
  ];
  for (const [what, act, flags] of refusals) {
    test(`INVALID_REQUEST: ${what}`, () => {
      const w = running(flags);
      assert.equal(act(w), 'InvalidRequest');
      assert.equal(w.dsm.tdiState(0), 'RUN');
    });
  }

  test('a bound P2P stream going insecure moves the TDI to ERROR', () => {
    const w = running();
    assert.equal(bind(w, 2), '0x8');
    stopStream(w, SESSION_A, 1); // not bound: nothing
    assert.equal(w.dsm.tdiState(0), 'RUN');
    stopStream(w, SESSION_A, 2);
    assert.equal(w.dsm.tdiState(0), 'ERROR');
  });
});

describe('SET_MMIO_ATTRIBUTE', () => {
  function ranges(w: World): readonly MmioRange[] {
    return decodeInterfaceReport(fetchReport(w, SESSION_A, 0)).mmioRanges;
  }
  const set = (
    w: World,
    r: MmioRange,
    attrs: Partial<MmioRange['attributes']>,
    session = SESSION_A,
  ) =>
    name(
      tdispMsg(
        w,
        session,
        tdispReq(0x8a, interfaceIdOf(w.device, 0), {
          mmioRange: {
            ...r,
            attributes: {
              msixTable: false,
              msixPba: false,
              nonTee: true,
              updatable: false,
              ...attrs,
            },
          },
        }),
      ),
    );

  test('an updatable range, named exactly, accepts IS_NON_TEE_MEM; the report keeps the LOCK-time attribute', () => {
    const w = running();
    const before = fetchReport(w, SESSION_A, 0);
    const r = ranges(w).find((x) => x.attributes.updatable)!;
    assert.equal(set(w, r, {}), '0xa');
    assert.deepEqual(fetchReport(w, SESSION_A, 0), before);
  });

  const refusals: Array<[string, (w: World, r: MmioRange, msix: MmioRange) => string]> = [
    ['the MSI-X table range', (w, _r, m) => set(w, m, {})],
    ['an MSI-X attribute bit', (w, r) => set(w, r, { msixTable: true })],
    ['the updatable bit', (w, r) => set(w, r, { updatable: true })],
    ['reserved attribute bits', (w, r) => set(w, r, { other: 0x10 })],
    ['a wrong page count', (w, r) => set(w, { ...r, numberOfPages: r.numberOfPages + 1 }, {})],
    ['a wrong first page', (w, r) => set(w, { ...r, firstPage: r.firstPage + 1n }, {})],
    ['a wrong range id', (w, r) => set(w, { ...r, rangeId: r.rangeId + 1 }, {})],
    ['another session', (w, r) => set(w, r, {}, SESSION_B)],
  ];
  for (const [what, act] of refusals) {
    test(`INVALID_REQUEST: ${what}`, () => {
      const w = running();
      const all = ranges(w);
      const r = all.find((x) => x.attributes.updatable)!;
      const msix = all.find((x) => x.attributes.msixTable)!;
      assert.equal(act(w, r, msix), 'InvalidRequest');
      const t = w.dsm.state.tdis[0];
      assert.ok(t.state === 'RUN' && t.mmioAttributes.length === 0);
    });
  }

  test('a device without updatable ranges refuses it', () => {
    const w = makeWorld(nvme, { mmioAttributeUpdatable: false });
    programStream(w, SESSION_A);
    const l = lock(w, SESSION_A, 0) as { startInterfaceNonce: Uint8Array };
    start(w, SESSION_A, 0, l.startInterfaceNonce);
    const r = ranges(w)[0];
    assert.equal(r.attributes.updatable, false);
    assert.equal(set(w, r, {}), 'InvalidRequest');
  });
});
