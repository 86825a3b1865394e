/**
 * LOCK_INTERFACE_REQUEST preconditions (PCIe 6.x 11.3.8, 11.4.5) and START's nonce and
 * session rules (11.3.14): LOCK needs every sub-stream key of the default stream programmed
 * and started on the very session (and connection) the LOCK arrives on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import { PCI_BASE_ADDRESS_0, PCI_EXT_CAP_ID_IDE } from '../../../src/device/pci/regs.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { nvme } from '../../../src/device/profiles/nvme.ts';
import { TDISP_ERROR_CODE_NAMES } from '../../../src/wire/tdisp/constants.ts';
import type { TdispMessage } from '../../../src/wire/tdisp/messages.ts';
import {
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
} from './harness.ts';

function errorName(m: TdispMessage): string {
  return m.code === 0x7f
    ? TDISP_ERROR_CODE_NAMES[m.errorCode]
    : `response 0x${m.code.toString(16)}`;
}

describe('LOCK refused without the default stream keys of this session', () => {
  const cases: Array<[string, (w: ReturnType<typeof makeWorld>) => void, string]> = [
    ['no IDE keys at all', () => {}, 'InvalidRequest'],
    [
      'keys programmed and started on another session',
      (w) => programStream(w, SESSION_B),
      'InvalidRequest',
    ],
    [
      'keys on the same session id of another SPDM connection',
      (w) => programStream(w, SESSION_A, 0, { conn: 2 }),
      'InvalidRequest',
    ],
    [
      'one sub-stream key missing (CPL TX)',
      (w) => programStream(w, SESSION_A, 0, { skip: '2.TX' }),
      'InvalidRequest',
    ],
    [
      'keys programmed but never started',
      (w) => programStream(w, SESSION_A, 0, { go: false }),
      'InvalidRequest',
    ],
    ['keys only for another stream', (w) => programStream(w, SESSION_A, 5), 'InvalidRequest'],
    [
      'keys stopped again with K_SET_STOP',
      (w) => {
        programStream(w, SESSION_A);
        stopStream(w, SESSION_A);
      },
      'InvalidRequest',
    ],
  ];
  for (const [name, setup, want] of cases) {
    test(name, () => {
      const w = makeWorld(nic);
      setup(w);
      const r = lock(w, SESSION_A, 1);
      assert.equal(errorName(r), want);
      assert.equal(w.dsm.tdiState(1), 'CONFIG_UNLOCKED');
    });
  }

  test('accepted once the same session programmed and started all six keys', () => {
    const w = makeWorld(nic);
    programStream(w, SESSION_A);
    assert.equal(lock(w, SESSION_A, 1).code, 0x03);
    assert.equal(w.dsm.tdiState(1), 'CONFIG_LOCKED');
  });

  test('a LOCK on another session fails even when this TDI is unlocked and keys exist', () => {
    const w = makeWorld(nic);
    programStream(w, SESSION_A);
    assert.equal(errorName(lock(w, SESSION_B, 1)), 'InvalidRequest');
  });

  test('IDE keys cannot be reprogrammed from another session (KP_ACK UnspecifiedFailure)', () => {
    const w = makeWorld(nic);
    programStream(w, SESSION_A);
    assert.throws(() => programStream(w, SESSION_B), /KEY_PROG refused.*"status":4/);
  });
});

describe('LOCK other refusals', () => {
  test('an unsupported LOCK flag is INVALID_REQUEST', () => {
    const w = makeWorld(nic, { behaviour: 'spdm-emu' });
    programStream(w, SESSION_A);
    assert.equal(errorName(lock(w, SESSION_A, 1, { flags: 0x08 })), 'InvalidRequest');
  });

  test('overlapping BARs are INVALID_DEVICE_CONFIGURATION', () => {
    const w = makeWorld({
      ...nvme,
      functions: [
        {
          ...nvme.functions[0],
          bars: [
            { index: 0, size: 16384n },
            { index: 1, size: 16384n },
          ],
        },
      ],
    });
    programStream(w, SESSION_A);
    const bar0 = w.device.configRead(0, PCI_BASE_ADDRESS_0, 4);
    w.device.configWrite(0, PCI_BASE_ADDRESS_0 + 4, 4, bar0 >>> 0);
    assert.equal(errorName(lock(w, SESSION_A, 0)), 'InvalidDeviceConfiguration');
  });

  test('a failing random source is INSUFFICIENT_ENTROPY', () => {
    const w = makeWorld(nic, {
      random: () => {
        throw new Error('no entropy');
      },
    });
    programStream(w, SESSION_A);
    assert.equal(errorName(lock(w, SESSION_A, 1)), 'InsufficientEntropy');
    assert.equal(w.dsm.tdiState(1), 'CONFIG_UNLOCKED');
  });

  test('the nonce comes from the injected source, fresh on every LOCK', () => {
    const draws: Uint8Array[] = [];
    let n = 0;
    const w = makeWorld(nic, {
      random: (len) => {
        const b = new Uint8Array(len).fill(++n);
        draws.push(b);
        return b;
      },
    });
    programStream(w, SESSION_A);
    const first = lock(w, SESSION_A, 1) as { startInterfaceNonce: Uint8Array };
    assert.deepEqual(first.startInterfaceNonce, draws[0]);
    tdispMsg(w, SESSION_A, tdispReq(0x87, interfaceIdOf(w.device, 1)));
    const second = lock(w, SESSION_A, 1) as { startInterfaceNonce: Uint8Array };
    assert.deepEqual(second.startInterfaceNonce, draws[1]);
    assert.notDeepEqual(first.startInterfaceNonce, second.startInterfaceNonce);
    // The first nonce died with STOP.
    const r = start(w, SESSION_A, 1, first.startInterfaceNonce);
    assert.equal(errorName(r), 'InvalidNonce');
  });
});

describe('START_INTERFACE_REQUEST', () => {
  function locked() {
    const w = makeWorld(nic);
    programStream(w, SESSION_A);
    const l = lock(w, SESSION_A, 1) as { startInterfaceNonce: Uint8Array };
    return { w, nonce: l.startInterfaceNonce, id: interfaceIdOf(w.device, 1) };
  }

  test('a wrong nonce is INVALID_NONCE and the TDI stays locked', () => {
    const { w, nonce, id } = locked();
    const bad = nonce.slice();
    bad[31] ^= 1;
    assert.equal(
      errorName(tdispMsg(w, SESSION_A, tdispReq(0x86, id, { startInterfaceNonce: bad }))),
      'InvalidNonce',
    );
    assert.equal(w.dsm.tdiState(1), 'CONFIG_LOCKED');
    assert.equal(
      tdispMsg(w, SESSION_A, tdispReq(0x86, id, { startInterfaceNonce: nonce })).code,
      0x06,
    );
  });

  test('the right nonce on another session is refused', () => {
    const { w, nonce, id } = locked();
    assert.equal(
      errorName(tdispMsg(w, SESSION_B, tdispReq(0x86, id, { startInterfaceNonce: nonce }))),
      'InvalidRequest',
    );
    assert.equal(
      errorName(tdispMsg(w, SESSION_A, tdispReq(0x86, id, { startInterfaceNonce: nonce }), 2)),
      'InvalidRequest',
    );
    assert.equal(w.dsm.tdiState(1), 'CONFIG_LOCKED');
  });

  test('the nonce is consumed: a second START is INVALID_INTERFACE_STATE', () => {
    const { w, nonce, id } = locked();
    assert.equal(
      tdispMsg(w, SESSION_A, tdispReq(0x86, id, { startInterfaceNonce: nonce })).code,
      0x06,
    );
    assert.equal(
      errorName(tdispMsg(w, SESSION_A, tdispReq(0x86, id, { startInterfaceNonce: nonce }))),
      'InvalidInterfaceState',
    );
    const tdi = w.dsm.state.tdis[1];
    assert.equal(tdi.state, 'RUN');
    assert.equal('nonce' in tdi, false);
  });
});

describe('LOCK checks the IDE register configuration of the default stream', () => {
  // nic: one Link block, then 4 Selective blocks of 1 address block (8 dwords each).
  function selCtl(w: ReturnType<typeof makeWorld>, i: number): number {
    const ide = walkExtCapabilities((o, s) => w.device.configRead(0, o, s)).find(
      (c) => c.id === PCI_EXT_CAP_ID_IDE,
    )!;
    return ide.offset + 0xc + 8 + i * 32 + 4;
  }
  const cases: Array<[string, Array<[number, number]>, string]> = [
    ['one Selective block, TC0', [[0, 0x1]], 'ok'],
    ['one Selective block on TC1', [[0, 0x1 | (1 << 19)]], 'InvalidRequest'],
    [
      'two Selective blocks carrying stream 0',
      [
        [0, 0x1],
        [1, 0x1],
      ],
      'InvalidRequest',
    ],
    [
      'a disabled second block does not count',
      [
        [0, 0x1],
        [1, 0x0],
      ],
      'ok',
    ],
    [
      'another stream in the second block',
      [
        [0, 0x1],
        [1, 0x1 | (5 << 24)],
      ],
      'ok',
    ],
  ];
  for (const [name, blocks, want] of cases) {
    test(name, () => {
      const w = makeWorld(nic);
      for (const [i, v] of blocks) w.device.configWrite(0, selCtl(w, i), 4, v >>> 0);
      programStream(w, SESSION_A);
      const r = lock(w, SESSION_A, 1);
      assert.equal(r.code === 0x03 ? 'ok' : errorName(r), want);
    });
  }
});
