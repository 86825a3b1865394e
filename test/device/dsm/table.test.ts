/**
 * The TDISP request x TDI state table (PCIe 6.x 11.3.1 "TDISP Request Codes", SYSTEM.md
 * section 2): for every request and every state, the response (or TDISP_ERROR code) and
 * the state afterwards. The table is data; each cell runs on a fresh device whose TDI was
 * brought to the state through real requests and (for ERROR) a real config-space write.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BehaviourName } from '../../../src/device/dsm/behaviour.ts';
import type { TdiStateName } from '../../../src/device/dsm/tdi.ts';
import { PCI_COMMAND } from '../../../src/device/pci/regs.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { TDISP_ERROR_CODE_NAMES, tdispMessageName } from '../../../src/wire/tdisp/constants.ts';
import { decodeInterfaceReport } from '../../../src/wire/tdisp/report.ts';
import {
  defaultBody,
  fetchReport,
  interfaceIdOf,
  lock,
  makeWorld,
  programStream,
  SESSION_A,
  start,
  tdispMsg,
  tdispReq,
  type World,
} from './harness.ts';

const FN = 1; // the NIC's first VF
const LOCK_FLAGS = 0x0d; // NO_FW_UPDATE | LOCK_MSIX | BIND_P2P

/** Brings a fresh NIC's VF1 to `state`; streams 0 (default), 1 and 2 keyed on SESSION_A. */
function worldIn(state: TdiStateName, behaviour: BehaviourName): { w: World; nonce?: Uint8Array } {
  const w = makeWorld(nic, { behaviour });
  for (const s of [0, 1, 2]) programStream(w, SESSION_A, s);
  if (state === 'CONFIG_UNLOCKED') return { w };
  const l = lock(w, SESSION_A, FN, { flags: behaviour === 'spec' ? LOCK_FLAGS : 0x5 });
  assert.equal(l.code, 0x03, 'setup LOCK');
  const nonce = (l as { startInterfaceNonce: Uint8Array }).startInterfaceNonce;
  if (state === 'CONFIG_LOCKED') return { w, nonce };
  if (state === 'ERROR') {
    // Bus Master Enable cleared in the VF's own Command register: an ERROR trigger.
    const cmd = w.device.configRead(FN, PCI_COMMAND, 2);
    w.device.configWrite(FN, PCI_COMMAND, 2, cmd & ~0x4);
    assert.equal(w.dsm.tdiState(FN), 'ERROR', 'setup ERROR');
    return { w };
  }
  const st = start(w, SESSION_A, FN, nonce);
  assert.equal(st.code, 0x06, 'setup START');
  if (behaviour === 'spec') {
    const b = tdispMsg(
      w,
      SESSION_A,
      tdispReq(0x88, interfaceIdOf(w.device, FN), { p2pStreamId: 1 }),
    );
    assert.equal(b.code, 0x08, 'setup BIND_P2P');
  }
  return { w };
}

/** A request body valid for the world (the nonce LOCK gave, a reported updatable range). */
function body(code: number, w: World, nonce: Uint8Array | undefined): Record<string, unknown> {
  if (code === 0x86) return defaultBody(code, nonce);
  if (code === 0x88) return { p2pStreamId: 2 };
  if (code === 0x89) return { p2pStreamId: 1 };
  if (code === 0x8a) {
    const rep =
      w.dsm.tdiState(FN) === 'RUN'
        ? decodeInterfaceReport(fetchReport(w, SESSION_A, FN))
        : undefined;
    const r = rep?.mmioRanges.find((x) => x.attributes.updatable);
    return r
      ? {
          mmioRange: {
            ...r,
            attributes: { msixTable: false, msixPba: false, nonTee: true, updatable: false },
          },
        }
      : defaultBody(code);
  }
  return defaultBody(code);
}

type Cell = [result: string, next: TdiStateName];
const U: TdiStateName = 'CONFIG_UNLOCKED';
const L: TdiStateName = 'CONFIG_LOCKED';
const R: TdiStateName = 'RUN';
const E: TdiStateName = 'ERROR';
const IIS = 'InvalidInterfaceState';
const UNS = 'UnsupportedRequest';

/** request code -> [UNLOCKED, LOCKED, RUN, ERROR] cells: response name or error name, next state. */
const SPEC_TABLE: Record<number, [Cell, Cell, Cell, Cell]> = {
  129: [
    ['TDISP_VERSION', U],
    ['TDISP_VERSION', L],
    ['TDISP_VERSION', R],
    ['TDISP_VERSION', E],
  ],
  130: [
    ['TDISP_CAPABILITIES', U],
    ['TDISP_CAPABILITIES', L],
    ['TDISP_CAPABILITIES', R],
    ['TDISP_CAPABILITIES', E],
  ],
  131: [
    ['LOCK_INTERFACE_RESPONSE', L],
    [IIS, L],
    [IIS, R],
    [IIS, E],
  ],
  132: [
    [IIS, U],
    ['DEVICE_INTERFACE_REPORT', L],
    ['DEVICE_INTERFACE_REPORT', R],
    [IIS, E],
  ],
  133: [
    ['DEVICE_INTERFACE_STATE', U],
    ['DEVICE_INTERFACE_STATE', L],
    ['DEVICE_INTERFACE_STATE', R],
    ['DEVICE_INTERFACE_STATE', E],
  ],
  134: [
    [IIS, U],
    ['START_INTERFACE_RESPONSE', R],
    [IIS, R],
    [IIS, E],
  ],
  135: [
    ['STOP_INTERFACE_RESPONSE', U],
    ['STOP_INTERFACE_RESPONSE', U],
    ['STOP_INTERFACE_RESPONSE', U],
    ['STOP_INTERFACE_RESPONSE', U],
  ],
  136: [
    [IIS, U],
    [IIS, L],
    ['BIND_P2P_STREAM_RESPONSE', R],
    [IIS, E],
  ],
  137: [
    [IIS, U],
    [IIS, L],
    ['UNBIND_P2P_STREAM_RESPONSE', R],
    [IIS, E],
  ],
  138: [
    [IIS, U],
    [IIS, L],
    ['SET_MMIO_ATTRIBUTE_RESPONSE', R],
    [IIS, E],
  ],
  139: [
    [UNS, U],
    [UNS, L],
    [UNS, R],
    [UNS, E],
  ],
};

/**
 * spdm-emu: VERSION re-creates the interface, the report refused with InvalidRequest when
 * unlocked, STOP refused when unlocked, 0x88.. unsupported; no ERROR state.
 */
const SPDM_EMU_TABLE: Record<number, [Cell, Cell, Cell]> = {
  129: [
    ['TDISP_VERSION', U],
    ['TDISP_VERSION', U],
    ['TDISP_VERSION', U],
  ],
  130: [
    ['TDISP_CAPABILITIES', U],
    ['TDISP_CAPABILITIES', L],
    ['TDISP_CAPABILITIES', R],
  ],
  131: [
    ['LOCK_INTERFACE_RESPONSE', L],
    [IIS, L],
    [IIS, R],
  ],
  132: [
    ['InvalidRequest', U],
    ['DEVICE_INTERFACE_REPORT', L],
    ['DEVICE_INTERFACE_REPORT', R],
  ],
  133: [
    ['DEVICE_INTERFACE_STATE', U],
    ['DEVICE_INTERFACE_STATE', L],
    ['DEVICE_INTERFACE_STATE', R],
  ],
  134: [
    [IIS, U],
    ['START_INTERFACE_RESPONSE', R],
    [IIS, R],
  ],
  135: [
    [IIS, U],
    ['STOP_INTERFACE_RESPONSE', U],
    ['STOP_INTERFACE_RESPONSE', U],
  ],
  136: [
    [UNS, U],
    [UNS, L],
    [UNS, R],
  ],
  137: [
    [UNS, U],
    [UNS, L],
    [UNS, R],
  ],
  138: [
    [UNS, U],
    [UNS, L],
    [UNS, R],
  ],
  139: [
    [UNS, U],
    [UNS, L],
    [UNS, R],
  ],
};

const STATES: TdiStateName[] = [U, L, R, E];
const STATE_CODE: Record<TdiStateName, number> = {
  CONFIG_UNLOCKED: 0,
  CONFIG_LOCKED: 1,
  RUN: 2,
  ERROR: 3,
};

function runTable(behaviour: BehaviourName, table: Record<number, Cell[]>): void {
  for (const [codeStr, cells] of Object.entries(table)) {
    const code = Number(codeStr);
    cells.forEach(([want, next], i) => {
      const state = STATES[i];
      test(`${tdispMessageName(code)} in ${state} -> ${want}, ${next}`, () => {
        const { w, nonce } = worldIn(state, behaviour);
        const m = tdispMsg(
          w,
          SESSION_A,
          tdispReq(code, interfaceIdOf(w.device, FN), body(code, w, nonce)),
        );
        const got =
          m.code === 0x7f ? TDISP_ERROR_CODE_NAMES[m.errorCode] : tdispMessageName(m.code);
        assert.equal(got, want);
        if (m.code === 0x7f && m.errorCode === 0x07)
          assert.equal(m.errorData, code, 'ErrorData = request code');
        if (m.code === 0x05) assert.equal(m.tdiState, STATE_CODE[state]);
        assert.deepEqual(m.interfaceId, interfaceIdOf(w.device, FN), 'InterfaceID echoed');
        assert.equal(w.dsm.tdiState(FN), next);
      });
    });
  }
}

describe('TDISP request x TDI state, spec behaviour', () => runTable('spec', SPEC_TABLE));
describe('TDISP request x TDI state, spdm-emu behaviour', () =>
  runTable('spdm-emu', SPDM_EMU_TABLE));
