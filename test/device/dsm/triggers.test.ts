/**
 * Every ERROR trigger of SYSTEM.md section 2 / PCIe 6.x 11.2.6, each from CONFIG_LOCKED and
 * from RUN, caused the way a host causes it: real config-space writes to the device model,
 * a bus renumbering, link down, a power cycle, an IDE_KM K_SET_STOP, the SPDM session
 * ending. The TDI goes to ERROR, the config write itself completes, a TDI in ERROR is never
 * used for T=1 traffic, the same trigger in CONFIG_UNLOCKED changes nothing, and STOP is
 * the way out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { walkCapabilities, walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import type { DeviceProfile } from '../../../src/device/pci/profile.ts';
import * as regs from '../../../src/device/pci/regs.ts';
import { gpu } from '../../../src/device/profiles/gpu.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { PCI_IDE_KM_OBJECT_ID_K_SET_STOP } from '../../../src/wire/idekm/constants.ts';
import {
  ideKm,
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

/** The GPU with every optional capability that has an ERROR trigger. */
const rich: DeviceProfile = {
  ...gpu,
  name: 'rich',
  functions: [{ ...gpu.functions[0], bist: true, tph: true, lnr: true, ari: true }],
};

function cap(w: World, fn: number, id: number): number {
  const c = walkCapabilities((o, s) => w.device.configRead(fn, o, s)).find((x) => x.id === id);
  assert.ok(c, `capability 0x${id.toString(16)} on fn ${fn}`);
  return c.offset;
}

function ext(w: World, fn: number, id: number): number {
  const c = walkExtCapabilities((o, s) => w.device.configRead(fn, o, s)).find((x) => x.id === id);
  assert.ok(c, `extended capability 0x${id.toString(16)} on fn ${fn}`);
  return c.offset;
}

function rmw(w: World, fn: number, off: number, size: number, f: (v: number) => number): void {
  w.device.configWrite(fn, off, size, f(w.device.configRead(fn, off, size)) >>> 0);
}

interface Trigger {
  name: string;
  profile: DeviceProfile;
  /** The TDI under test. */
  fn: number;
  /** Host-side setup before LOCK (e.g. enabling the IDE register block). */
  setup?: (w: World) => void;
  act: (w: World) => void;
  /** The write completed: checked after the trigger. */
  completed?: (w: World) => void;
  /** Another TDI that must stay as it is. */
  bystander?: number;
}

const ideSelCtl = (w: World) => {
  const ide = ext(w, 0, regs.PCI_EXT_CAP_ID_IDE);
  // nvme/gpu: no link streams, so the first Selective block follows IDE Control.
  return ide + regs.PCI_IDE_LINK_STREAM_0 + regs.PCI_IDE_SEL_CTL;
};

/** Initiate Function Level Reset (PCIe 7.5.3.4 Device Control) on `fn`. */
const flr = (w: World, fn: number) =>
  rmw(
    w,
    fn,
    cap(w, fn, regs.PCI_CAP_ID_EXP) + regs.PCI_EXP_DEVCTL,
    2,
    (v) => v | regs.PCI_EXP_DEVCTL_BCR_FLR,
  );

/** Offset of register `reg` of the PF's SR-IOV capability. */
const sriovReg = (w: World, reg: number) => ext(w, 0, regs.PCI_EXT_CAP_ID_SRIOV) + reg;

const TRIGGERS: Trigger[] = [
  {
    name: 'Memory Space Enable cleared',
    profile: rich,
    fn: 0,
    act: (w) => rmw(w, 0, regs.PCI_COMMAND, 2, (v) => v & ~regs.PCI_COMMAND_MEMORY),
    completed: (w) =>
      assert.equal(w.device.configRead(0, regs.PCI_COMMAND, 2) & regs.PCI_COMMAND_MEMORY, 0),
  },
  {
    name: 'Bus Master Enable cleared',
    profile: rich,
    fn: 0,
    act: (w) => rmw(w, 0, regs.PCI_COMMAND, 2, (v) => v & ~regs.PCI_COMMAND_MASTER),
  },
  {
    name: 'BAR write',
    profile: rich,
    fn: 0,
    act: (w) => w.device.configWrite(0, regs.PCI_BASE_ADDRESS_0, 4, 0xd000_0000),
    completed: (w) =>
      assert.equal((w.device.configRead(0, regs.PCI_BASE_ADDRESS_0, 4) & ~0xf) >>> 0, 0xd000_0000),
  },
  {
    name: 'expansion ROM BAR write',
    profile: rich,
    fn: 0,
    act: (w) => w.device.configWrite(0, regs.PCI_ROM_ADDRESS, 4, 0xc000_0000),
  },
  {
    name: 'BIST write',
    profile: rich,
    fn: 0,
    act: (w) => w.device.configWrite(0, regs.PCI_BIST, 1, regs.PCI_BIST_START),
  },
  {
    name: 'Function Level Reset',
    profile: rich,
    fn: 0,
    act: (w) => flr(w, 0),
  },
  {
    name: 'Requester ID change (bus renumbered)',
    profile: rich,
    fn: 0,
    act: (w) => w.device.setBusNumber(w.device.busNumber + 1),
  },
  {
    name: 'IDE link down',
    profile: rich,
    fn: 0,
    act: (w) => w.device.linkDown(),
  },
  {
    name: 'IDE stream disabled in the Selective IDE Stream Control register',
    profile: rich,
    fn: 0,
    setup: (w) => w.device.configWrite(0, ideSelCtl(w), 4, regs.PCI_IDE_SEL_CTL_EN),
    act: (w) => rmw(w, 0, ideSelCtl(w), 4, (v) => v & ~regs.PCI_IDE_SEL_CTL_EN),
  },
  {
    name: 'IDE RID association rewritten for the bound stream',
    profile: rich,
    fn: 0,
    setup: (w) => w.device.configWrite(0, ideSelCtl(w), 4, regs.PCI_IDE_SEL_CTL_EN),
    act: (w) => {
      const rid1 = ideSelCtl(w) - regs.PCI_IDE_SEL_CTL + regs.PCI_IDE_SEL_RID_1;
      w.device.configWrite(0, rid1, 4, 0x00ffff00);
    },
  },
  {
    name: 'IDE_KM K_SET_STOP on the default stream',
    profile: rich,
    fn: 0,
    act: (w) =>
      void ideKm(w, SESSION_A, {
        objectId: PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
        streamId: 0,
        keySubStream: { keySet: 0, direction: 'TX', subStream: 1 },
        portIndex: 0,
      }),
  },
  {
    name: 'SPDM session that locked it ends',
    profile: rich,
    fn: 0,
    act: (w) => w.dsm.sessionEnded(1, SESSION_A),
  },
  ...(
    [
      [
        'PASID enable',
        regs.PCI_EXT_CAP_ID_PASID,
        regs.PCI_PASID_CTRL,
        2,
        regs.PCI_PASID_CTRL_ENABLE,
      ],
      ['ATS enable', regs.PCI_EXT_CAP_ID_ATS, regs.PCI_ATS_CTRL, 2, regs.PCI_ATS_CTRL_ENABLE],
      ['PRI enable', regs.PCI_EXT_CAP_ID_PRI, regs.PCI_PRI_CTRL, 2, regs.PCI_PRI_CTRL_ENABLE],
      ['ARI control change', regs.PCI_EXT_CAP_ID_ARI, regs.PCI_ARI_CTRL, 2, 0x10],
      ['TPH requester enable', regs.PCI_EXT_CAP_ID_TPH, regs.PCI_TPH_CTRL, 4, 0x100],
      ['LNR enable', regs.PCI_EXT_CAP_ID_LNR, regs.PCI_LNR_CTRL, 2, regs.PCI_LNR_CTRL_ENABLE],
    ] as const
  ).map(
    ([name, id, reg, size, bit]): Trigger => ({
      name,
      profile: rich,
      fn: 0,
      act: (w) => rmw(w, 0, ext(w, 0, id) + reg, size, (v) => v | bit),
    }),
  ),
  {
    name: 'Resizable BAR size change',
    profile: rich,
    fn: 0,
    act: (w) => {
      const off = ext(w, 0, regs.PCI_EXT_CAP_ID_REBAR) + regs.PCI_REBAR_CTRL;
      rmw(
        w,
        0,
        off,
        4,
        (v) => (v & ~regs.PCI_REBAR_CTRL_BAR_SIZE) | (8 << regs.PCI_REBAR_CTRL_BAR_SHIFT),
      );
    },
  },
  {
    name: 'D3hot that loses state',
    profile: rich,
    fn: 0,
    act: (w) =>
      rmw(w, 0, cap(w, 0, regs.PCI_CAP_ID_PM) + regs.PCI_PM_CTRL, 2, (v) => v | regs.PCI_D3HOT),
  },
  {
    name: 'power cycle (D3cold)',
    profile: rich,
    fn: 0,
    act: (w) => w.device.powerCycle(),
  },
  {
    name: 'locked MSI-X Message Control written',
    profile: rich,
    fn: 0,
    act: (w) =>
      rmw(
        w,
        0,
        cap(w, 0, regs.PCI_CAP_ID_MSIX) + regs.PCI_MSIX_FLAGS,
        2,
        (v) => v ^ regs.PCI_MSIX_FLAGS_MASKALL,
      ),
  },
  {
    name: 'PF FLR reaching the VF',
    profile: nic,
    fn: 1,
    act: (w) => flr(w, 0),
  },
  {
    name: 'VF FLR',
    profile: nic,
    fn: 1,
    bystander: 2,
    act: (w) => flr(w, 1),
  },
  {
    name: 'VF Bus Master Enable cleared',
    profile: nic,
    fn: 1,
    bystander: 2,
    act: (w) => rmw(w, 1, regs.PCI_COMMAND, 2, (v) => v & ~regs.PCI_COMMAND_MASTER),
  },
  {
    name: 'SR-IOV VF Enable cleared (the VF disappears)',
    profile: nic,
    fn: 1,
    act: (w) => rmw(w, 0, sriovReg(w, regs.PCI_SRIOV_CTRL), 2, (v) => v & ~regs.PCI_SRIOV_CTRL_VFE),
  },
  {
    name: 'SR-IOV VF Memory Space Enable cleared',
    profile: nic,
    fn: 1,
    act: (w) => rmw(w, 0, sriovReg(w, regs.PCI_SRIOV_CTRL), 2, (v) => v & ~regs.PCI_SRIOV_CTRL_MSE),
  },
  {
    name: 'SR-IOV VF BAR written',
    profile: nic,
    fn: 1,
    act: (w) => w.device.configWrite(0, sriovReg(w, regs.PCI_SRIOV_BAR), 4, 0xd000_0000),
  },
];

type From = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'RUN';

function prepare(t: Trigger, from: From): World {
  const w = makeWorld(t.profile);
  t.setup?.(w);
  programStream(w, SESSION_A, 0);
  const fns = [t.fn, ...(t.bystander !== undefined ? [t.bystander] : [])];
  if (from === 'CONFIG_UNLOCKED') return w;
  for (const fn of fns) {
    const l = lock(w, SESSION_A, fn, { flags: 0x5 }); // NO_FW_UPDATE | LOCK_MSIX
    assert.equal(l.code, 0x03, `LOCK fn ${fn}`);
    if (from === 'RUN') {
      const nonce = (l as { startInterfaceNonce: Uint8Array }).startInterfaceNonce;
      const s = start(w, SESSION_A, fn, nonce);
      assert.equal(s.code, 0x06, `START fn ${fn}`);
    }
  }
  return w;
}

for (const from of ['CONFIG_LOCKED', 'RUN'] as const) {
  describe(`ERROR triggers from ${from}`, () => {
    for (const t of TRIGGERS) {
      test(t.name, () => {
        const w = prepare(t, from);
        const rid = interfaceIdOf(w.device, t.fn);
        assert.equal(w.dsm.tdiState(t.fn), from);
        t.act(w);
        assert.equal(w.dsm.tdiState(t.fn), 'ERROR');
        t.completed?.(w);
        if (t.bystander !== undefined)
          assert.equal(w.dsm.tdiState(t.bystander), from, 'bystander untouched');
        // ERROR is never T=1 traffic, and the DMA engine does not set T.
        assert.equal(w.dsm.teePolicy.mmio(t.fn, 0, 0, true, false), 'UR');
        assert.equal(w.dsm.teePolicy.dmaT(t.fn), false);
        // Only state (and STOP) is answered; STOP leads out when the function still exists.
        if (!w.device.hasFunction(t.fn) || w.device.requesterId(t.fn) !== rid.requesterId) return;
        const st = tdispMsg(w, SESSION_A, tdispReq(0x85, rid));
        assert.equal(st.code, 0x05);
        assert.equal((st as { tdiState: number }).tdiState, 3);
        const rep = tdispMsg(w, SESSION_A, tdispReq(0x84, rid, { offset: 0, length: 64 }));
        assert.equal(rep.code, 0x7f);
        const stop = tdispMsg(w, SESSION_A, tdispReq(0x87, rid));
        assert.equal(stop.code, 0x07);
        assert.equal(w.dsm.tdiState(t.fn), 'CONFIG_UNLOCKED');
      });
    }
  });
}

describe('ERROR triggers in CONFIG_UNLOCKED change nothing', () => {
  for (const t of TRIGGERS) {
    test(t.name, () => {
      const w = prepare(t, 'CONFIG_UNLOCKED');
      t.act(w);
      assert.equal(w.dsm.tdiState(t.fn), 'CONFIG_UNLOCKED');
    });
  }
});

describe('the spdm-emu behaviour never enters ERROR', () => {
  for (const t of TRIGGERS.filter((x) => x.name === 'BAR write' || x.name === 'IDE link down')) {
    test(t.name, () => {
      const w = makeWorld(t.profile, { behaviour: 'spdm-emu' });
      programStream(w, SESSION_A, 0);
      assert.equal(lock(w, SESSION_A, t.fn, { flags: 0x1 }).code, 0x03);
      t.act(w);
      assert.equal(w.dsm.tdiState(t.fn), 'CONFIG_LOCKED');
    });
  }
});
