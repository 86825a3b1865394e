/**
 * The monitor and the random action generator of the DSM state-machine property
 * (property.test.ts, property.slow.test.ts). Random sequences of TDISP requests (on random
 * sessions and connections, with right, stale and forged nonces), IDE_KM key programming /
 * stopping, and host config writes; after every step a monitor that shadows what the
 * requester side legitimately knows checks:
 * - every state change is one of U->L (LOCK), L->R (START), any->U (STOP), L/R->E (trigger);
 * - RUN is entered only by START on the session that made the last LOCK of that TDI, with
 *   that LOCK's nonce, and with no STOP or ERROR trigger in between;
 * - LOCK succeeds only when that session programmed and started the default stream;
 * - a host ERROR trigger hitting a LOCKED/RUN TDI leaves it in ERROR, and ERROR is left only
 *   through STOP;
 * - T=1 MMIO and T=1 DMA exactly in RUN.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DsmEvent } from '../../../src/device/dsm/events.ts';
import type { TdiStateName } from '../../../src/device/dsm/tdi.ts';
import { walkCapabilities, walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import * as regs from '../../../src/device/pci/regs.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { bytesEqual } from '../../../src/wire/hex.ts';
import { decodeTdisp, encodeTdisp, type TdispMessage } from '../../../src/wire/tdisp/messages.ts';
import {
  ctx,
  defaultBody,
  interfaceIdOf,
  makeWorld,
  programStream,
  SESSION_A,
  SESSION_B,
  stopStream,
  type World,
} from './harness.ts';

const FNS = [1, 2];
const SESSIONS = [SESSION_A, SESSION_B];

export type Action =
  | {
      kind: 'tdisp';
      code: number;
      fn: number;
      session: number | undefined;
      conn: number;
      nonce: 'last' | 'forged';
      stream: number;
    }
  | { kind: 'keys'; session: number; conn: number }
  | { kind: 'stop-keys'; session: number; conn: number }
  | { kind: 'config'; what: 'bme' | 'flr' | 'vf-bar' | 'bus' | 'link' | 'msix-ctl'; fn: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('tdisp' as const),
      code: fc.constantFrom(
        0x81,
        0x82,
        0x83,
        0x83,
        0x83,
        0x83,
        0x84,
        0x85,
        0x86,
        0x86,
        0x86,
        0x86,
        0x87,
        0x88,
        0x89,
        0x8a,
      ),
      fn: fc.constantFrom(...FNS),
      session: fc.constantFrom(
        SESSION_A,
        SESSION_A,
        SESSION_A,
        SESSION_A,
        SESSION_A,
        SESSION_A,
        SESSION_B,
        undefined,
      ),
      conn: fc.constantFrom(1, 1, 1, 1, 1, 1, 2),
      nonce: fc.constantFrom('last' as const, 'last' as const, 'last' as const, 'forged' as const),
      stream: fc.constantFrom(0, 0, 0, 0, 1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('keys' as const),
      session: fc.constantFrom(SESSION_A, SESSION_A, SESSION_B),
      conn: fc.constantFrom(1, 1, 2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stop-keys' as const),
      session: fc.constantFrom(...SESSIONS),
      conn: fc.constantFrom(1, 2),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('config' as const),
      what: fc.constantFrom(
        'bme' as const,
        'flr' as const,
        'vf-bar' as const,
        'bus' as const,
        'link' as const,
        'msix-ctl' as const,
      ),
      fn: fc.constantFrom(...FNS),
    }),
  },
);

const ALLOWED = new Set([
  'CONFIG_UNLOCKED>CONFIG_LOCKED',
  'CONFIG_LOCKED>RUN',
  'CONFIG_LOCKED>CONFIG_UNLOCKED',
  'RUN>CONFIG_UNLOCKED',
  'ERROR>CONFIG_UNLOCKED',
  'CONFIG_LOCKED>ERROR',
  'RUN>ERROR',
]);

interface Shadow {
  /** Last successful LOCK per fn: session, connection and nonce, until STOP/ERROR/START. */
  lock: Map<number, { session: number; conn: number; nonce: Uint8Array } | undefined>;
  /** Who keyed stream 0 (all six keys, started), as the requesters saw it. */
  keyedBy: { session: number; conn: number } | undefined;
  /** Every nonce a LOCK ever returned, for 'last'. */
  nonces: Map<number, Uint8Array>;
}

function hostConfig(w: World, a: Extract<Action, { kind: 'config' }>): number[] {
  const d = w.device;
  const rmw = (fn: number, off: number, size: number, f: (v: number) => number) =>
    d.configWrite(fn, off, size, f(d.configRead(fn, off, size)) >>> 0);
  switch (a.what) {
    case 'bme':
      rmw(a.fn, regs.PCI_COMMAND, 2, (v) => v & ~regs.PCI_COMMAND_MASTER);
      rmw(a.fn, regs.PCI_COMMAND, 2, (v) => v | regs.PCI_COMMAND_MASTER);
      return [a.fn];
    case 'flr': {
      const pcie = walkCapabilities((o, s) => d.configRead(a.fn, o, s)).find(
        (c) => c.id === regs.PCI_CAP_ID_EXP,
      )!;
      rmw(a.fn, pcie.offset + regs.PCI_EXP_DEVCTL, 2, (v) => v | regs.PCI_EXP_DEVCTL_BCR_FLR);
      rmw(a.fn, regs.PCI_COMMAND, 2, (v) => v | regs.PCI_COMMAND_MASTER);
      return [a.fn];
    }
    case 'vf-bar': {
      const sriov = walkExtCapabilities((o, s) => d.configRead(0, o, s)).find(
        (c) => c.id === regs.PCI_EXT_CAP_ID_SRIOV,
      )!;
      const off = sriov.offset + regs.PCI_SRIOV_BAR;
      rmw(0, off, 4, (v) => v); // rewrite the same address: still a BAR write
      return FNS;
    }
    case 'bus':
      d.setBusNumber(d.busNumber === 0x3a ? 0x3b : 0x3a);
      return FNS;
    case 'link':
      d.linkDown();
      d.linkUp();
      return FNS;
    case 'msix-ctl': {
      const msix = walkCapabilities((o, s) => d.configRead(a.fn, o, s)).find(
        (c) => c.id === regs.PCI_CAP_ID_MSIX,
      )!;
      rmw(a.fn, msix.offset + regs.PCI_MSIX_FLAGS, 2, (v) => v ^ regs.PCI_MSIX_FLAGS_MASKALL);
      // Only an ERROR trigger when LOCK_MSIX locked it.
      return [];
    }
  }
}

const stats = { run: 0, error: 0 };

/** Runs `actions`, checking each step; returns every TDI's state after each action. */
export function run(actions: Action[]): Map<number, TdiStateName>[] {
  const after: Map<number, TdiStateName>[] = [];
  const w = makeWorld(nic);
  const transitions: Array<{ fn: number; from: TdiStateName; to: TdiStateName; cause: string }> =
    [];
  w.dsm.onEvent((e: DsmEvent) => {
    if (e.kind === 'TDI_STATE') transitions.push(e);
    assert.notEqual(e.kind, 'INTERNAL_ERROR', JSON.stringify(e));
  });
  const sh: Shadow = { lock: new Map(), keyedBy: undefined, nonces: new Map() };

  for (const a of actions) {
    const before = new Map(FNS.map((fn) => [fn, w.dsm.tdiState(fn)]));
    transitions.length = 0;
    let resp: TdispMessage | undefined;
    let targets: number[] = [];
    let sentNonce: Uint8Array | undefined;

    if (a.kind === 'keys') {
      try {
        programStream(w, a.session, 0, { conn: a.conn });
        sh.keyedBy = { session: a.session, conn: a.conn };
      } catch {
        // refused (another session owns the stream, or a key set is in use): nothing changes
      }
    } else if (a.kind === 'stop-keys') {
      const owner = sh.keyedBy;
      stopStream(w, a.session, 0, a.conn);
      if (owner && owner.session === a.session && owner.conn === a.conn) sh.keyedBy = undefined;
    } else if (a.kind === 'config') {
      targets = hostConfig(w, a);
      if (a.what === 'link') sh.keyedBy = undefined;
    } else {
      const id = interfaceIdOf(w.device, a.fn);
      let body = defaultBody(a.code);
      if (a.code === 0x83) body = { ...body, flags: 0x0d, defaultStreamId: a.stream };
      if (a.code === 0x86) {
        const n = sh.nonces.get(a.fn);
        sentNonce = a.nonce === 'last' && n ? n : new Uint8Array(32).fill(7);
        body = { startInterfaceNonce: sentNonce };
      }
      const bytes = encodeTdisp({
        version: 0x10,
        code: a.code,
        interfaceId: id,
        ...body,
      } as TdispMessage);
      const r = w.dsm.tdispHandler(ctx(a.session, a.conn), bytes);
      if (a.session === undefined) assert.equal(r.kind, 'silent');
      if (r.kind === 'response') resp = decodeTdisp(r.message);
      if (resp?.code === 0x03) {
        // LOCK succeeded: the shadow says this session keyed the default stream.
        assert.equal(a.stream, 0, 'LOCK with a default stream nobody keyed');
        assert.deepEqual(sh.keyedBy, { session: a.session, conn: a.conn }, 'LOCK without own keys');
        sh.lock.set(a.fn, { session: a.session!, conn: a.conn, nonce: resp.startInterfaceNonce });
        sh.nonces.set(a.fn, resp.startInterfaceNonce);
      }
    }

    // The monitor.
    for (const t of transitions) {
      assert.ok(ALLOWED.has(`${t.from}>${t.to}`), `forbidden ${t.from} -> ${t.to} (${t.cause})`);
      if (t.to === 'RUN') {
        assert.equal(a.kind, 'tdisp');
        const l = sh.lock.get(t.fn);
        assert.ok(l, 'RUN without a live LOCK');
        assert.ok(
          a.kind === 'tdisp' && a.session === l.session && a.conn === l.conn,
          'RUN from another session',
        );
        assert.ok(sentNonce && bytesEqual(sentNonce, l.nonce), 'RUN without the nonce');
        stats.run++;
        sh.lock.set(t.fn, undefined);
      }
      if (t.to === 'ERROR' || t.to === 'CONFIG_UNLOCKED') sh.lock.set(t.fn, undefined);
      if (t.to === 'ERROR') stats.error++;
    }
    for (const fn of FNS) {
      const now = w.dsm.tdiState(fn);
      const was = before.get(fn)!;
      if (targets.includes(fn) && (was === 'CONFIG_LOCKED' || was === 'RUN')) {
        assert.equal(now, 'ERROR', `trigger ${JSON.stringify(a)} left fn ${fn} in ${now}`);
      }
      if (was === 'ERROR')
        assert.ok(now === 'ERROR' || now === 'CONFIG_UNLOCKED', 'left ERROR without STOP');
      assert.equal(
        w.dsm.teePolicy.mmio(fn, 0, 0, true, false) === 'ok',
        now === 'RUN',
        'T=1 MMIO only in RUN',
      );
      assert.equal(w.dsm.teePolicy.dmaT(fn), now === 'RUN', 'T=1 DMA only in RUN');
    }
    after.push(new Map(FNS.map((fn) => [fn, w.dsm.tdiState(fn)])));
  }
  return after;
}

/** Runs the property; `runs` sequences (TEEIO_DSM_RUNS overrides). */
export function checkProperty(runs: number): typeof stats {
  stats.run = 0;
  stats.error = 0;
  const KEYS_A: Action = { kind: 'keys', session: SESSION_A, conn: 1 };
  const sequence = fc
    .tuple(fc.boolean(), fc.array(action, { minLength: 8, maxLength: 40, size: 'max' }))
    .map(([keyed, rest]) => (keyed ? [KEYS_A, ...rest] : rest));
  fc.assert(
    fc.property(sequence, (s) => {
      run(s);
    }),
    { numRuns: runs },
  );
  return { ...stats };
}
