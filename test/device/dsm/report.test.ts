/**
 * DEVICE_INTERFACE_REPORT matches the configuration (PCIe 6.x 11.3.11) for every built-in
 * profile, for PFs and VFs, with and without LOCK_MSIX, with several MMIO reporting
 * offsets (including a negative one that wraps). The expected report is built here byte by
 * byte from the profile and the addresses the host programmed, independently of the DSM's
 * report builder and of the report codec.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { walkCapabilities, walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import type { CommonFunctionProfile, DeviceProfile } from '../../../src/device/pci/profile.ts';
import * as regs from '../../../src/device/pci/regs.ts';
import { gpu } from '../../../src/device/profiles/gpu.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { nvme } from '../../../src/device/profiles/nvme.ts';
import {
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

const PAGE = 4096n;
const M64 = (1n << 64n) - 1n;

interface Expected {
  start: bigint; // page index within the BAR
  pages: bigint;
  attr: number;
}

/** The function's profile (a PF's own, or its PF's VF template). */
function fnProfile(p: DeviceProfile, fn: number): CommonFunctionProfile {
  const pf = p.functions.find((f) => f.fn === fn);
  if (pf) return pf;
  const owner = p.functions.find((f) => f.sriov)!;
  return owner.sriov!.vf;
}

/** Page ranges of one BAR: special pages from the profile, the gaps TEE (attr 0 / 8 updatable). */
function expectedRanges(
  f: CommonFunctionProfile,
  bar: number,
  size: bigint,
  msixLocked: boolean,
): Expected[] {
  const special: Expected[] = [];
  const m = f.msix;
  if (m && msixLocked) {
    const tEnd = BigInt(m.table.offset) + BigInt(m.vectors) * 16n;
    const pEnd = BigInt(m.pba.offset) + ((BigInt(m.vectors) + 63n) / 64n) * 8n;
    if (m.table.bar === bar) {
      const s = BigInt(m.table.offset) / PAGE;
      special.push({ start: s, pages: (tEnd + PAGE - 1n) / PAGE - s, attr: 0x1 });
    }
    if (m.pba.bar === bar) {
      const s = BigInt(m.pba.offset) / PAGE;
      special.push({ start: s, pages: (pEnd + PAGE - 1n) / PAGE - s, attr: 0x2 });
    }
  }
  for (const r of f.nonTee ?? []) {
    if (r.bar !== bar) continue;
    const s = r.offset / PAGE;
    special.push({ start: s, pages: (r.offset + r.size + PAGE - 1n) / PAGE - s, attr: 0x4 });
  }
  special.sort((a, b) => (a.start < b.start ? -1 : 1));
  const out: Expected[] = [];
  let at = 0n;
  const total = (size + PAGE - 1n) / PAGE;
  for (const s of special) {
    if (s.start > at) out.push({ start: at, pages: s.start - at, attr: 0x8 });
    out.push(s);
    at = s.start + s.pages;
  }
  if (at < total) out.push({ start: at, pages: total - at, attr: 0x8 });
  // Without LOCK_MSIX the MSI-X table and PBA are not reported at all: they split TEE ranges.
  if (m && !msixLocked) {
    const holes: bigint[] = [];
    if (m.table.bar === bar) holes.push(BigInt(m.table.offset) / PAGE);
    if (m.pba.bar === bar) holes.push(BigInt(m.pba.offset) / PAGE);
    let res = out;
    for (const page of holes) {
      res = res.flatMap((r) =>
        page >= r.start && page < r.start + r.pages
          ? [
              ...(page > r.start ? [{ ...r, pages: page - r.start }] : []),
              ...(page + 1n < r.start + r.pages
                ? [{ ...r, start: page + 1n, pages: r.start + r.pages - page - 1n }]
                : []),
            ]
          : [r],
      );
    }
    return res;
  }
  return out;
}

function expectedReport(
  w: World,
  p: DeviceProfile,
  fn: number,
  o: { msixLocked: boolean; offset: bigint; noFwUpdate: boolean; info: number; dsi: Uint8Array },
): Uint8Array {
  const f = fnProfile(p, fn);
  const ranges: Array<Expected & { bar: number }> = [];
  for (const b of [...f.bars].filter((x) => !x.io).sort((a, c) => a.index - c.index)) {
    for (const r of expectedRanges(f, b.index, b.size, o.msixLocked))
      ranges.push({ ...r, bar: b.index });
  }
  const out = new Uint8Array(16 + 16 * ranges.length + 4 + o.dsi.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, o.info | (o.noFwUpdate ? 1 : 0) | 0x2, true);
  let msixCtl = 0;
  if (f.msix && o.msixLocked) {
    const c = walkCapabilities((a, s) => w.device.configRead(fn, a, s)).find(
      (x) => x.id === regs.PCI_CAP_ID_MSIX,
    )!;
    msixCtl = w.device.configRead(fn, c.offset + regs.PCI_MSIX_FLAGS, 2);
  }
  dv.setUint16(4, msixCtl, true);
  dv.setUint32(12, ranges.length, true);
  ranges.forEach((r, i) => {
    const base = w.bars.get(`${fn}:${r.bar}`)!;
    const first = ((base + r.start * PAGE + o.offset) & M64) / PAGE;
    dv.setBigUint64(16 + 16 * i, first, true);
    dv.setUint32(24 + 16 * i, Number(r.pages), true);
    dv.setUint16(28 + 16 * i, r.attr, true);
    dv.setUint16(30 + 16 * i, r.bar, true);
  });
  dv.setUint32(16 + 16 * ranges.length, o.dsi.length, true);
  out.set(o.dsi, 20 + 16 * ranges.length);
  return out;
}

const withDsi = (p: DeviceProfile, dsi: Uint8Array): DeviceProfile => ({
  ...p,
  functions: p.functions.map((f) => ({
    ...f,
    deviceSpecificInfo: dsi,
    ...(f.sriov && { sriov: { ...f.sriov, vf: { ...f.sriov.vf, deviceSpecificInfo: dsi } } }),
  })),
});

const DSI = new TextEncoder().encode('teeio-test-device');
const OFFSETS = [0n, 0xd000_0000n, M64 - 0xf_ffffn]; // the last is -0x100000 (wraps)

const CASES: Array<[DeviceProfile, number[]]> = [
  [nic, [1, 2, 3, 4]],
  [gpu, [0]],
  [nvme, [0]],
];

for (const [profile, fns] of CASES) {
  describe(`report of the ${profile.name} profile`, () => {
    for (const fn of fns) {
      for (const offset of OFFSETS) {
        for (const flags of [0x5, 0x0]) {
          test(`fn ${fn}, MMIO_REPORTING_OFFSET 0x${offset.toString(16)}, flags 0x${flags.toString(16)}`, () => {
            const p = withDsi(profile, DSI);
            const w = makeWorld(p);
            programStream(w, SESSION_A);
            assert.equal(lock(w, SESSION_A, fn, { flags, mmioReportingOffset: offset }).code, 0x03);
            const want = expectedReport(w, p, fn, {
              msixLocked: (flags & 0x4) !== 0,
              offset,
              noFwUpdate: (flags & 0x1) !== 0,
              info: 0,
              dsi: DSI,
            });
            for (const portion of [0x40, 7, 0x1000]) {
              assert.deepEqual(fetchReport(w, SESSION_A, fn, portion), want, `portion ${portion}`);
            }
          });
        }
      }
    }
  });
}

describe('report follows the live configuration', () => {
  test('PASID / ATS / PRS enabled before LOCK are reported in INTERFACE_INFO', () => {
    const w = makeWorld(gpu);
    const read = (o: number, s: number) => w.device.configRead(0, o, s);
    const ext = (id: number) => walkExtCapabilities(read).find((c) => c.id === id)!.offset;
    w.device.configWrite(
      0,
      ext(regs.PCI_EXT_CAP_ID_PASID) + regs.PCI_PASID_CTRL,
      2,
      regs.PCI_PASID_CTRL_ENABLE,
    );
    w.device.configWrite(
      0,
      ext(regs.PCI_EXT_CAP_ID_ATS) + regs.PCI_ATS_CTRL,
      2,
      regs.PCI_ATS_CTRL_ENABLE,
    );
    w.device.configWrite(
      0,
      ext(regs.PCI_EXT_CAP_ID_PRI) + regs.PCI_PRI_CTRL,
      2,
      regs.PCI_PRI_CTRL_ENABLE,
    );
    programStream(w, SESSION_A);
    assert.equal(lock(w, SESSION_A, 0, { flags: 0x4 }).code, 0x03);
    const rep = fetchReport(w, SESSION_A, 0);
    assert.equal(new DataView(rep.buffer).getUint16(0, true), 0x2 | 0x4 | 0x8 | 0x10);
    assert.deepEqual(
      rep,
      expectedReport(w, gpu, 0, {
        msixLocked: true,
        offset: 0n,
        noFwUpdate: false,
        info: 0x1c,
        dsi: new Uint8Array(),
      }),
    );
  });

  test('the guest enabling MSI-X in RUN shows in MSI_X_MESSAGE_CONTROL', () => {
    const w = makeWorld(nvme);
    programStream(w, SESSION_A);
    const l = lock(w, SESSION_A, 0, { flags: 0x4 }) as { startInterfaceNonce: Uint8Array };
    start(w, SESSION_A, 0, l.startInterfaceNonce);
    const before = new DataView(fetchReport(w, SESSION_A, 0).buffer).getUint16(4, true);
    assert.equal(before & regs.PCI_MSIX_FLAGS_ENABLE, 0);
    // (A locked MSI-X control written by the host is an ERROR trigger; reading it back is not.)
    assert.equal(before & regs.PCI_MSIX_FLAGS_QSIZE, 31);
  });

  test('OFFSET beyond the report or LENGTH 0 is INVALID_REQUEST', () => {
    const w = makeWorld(nvme);
    programStream(w, SESSION_A);
    lock(w, SESSION_A, 0);
    const id = interfaceIdOf(w.device, 0);
    for (const body of [
      { offset: 0x4000, length: 16 },
      { offset: 0, length: 0 },
    ]) {
      const m = tdispMsg(w, SESSION_A, tdispReq(0x84, id, body));
      assert.equal(m.code, 0x7f);
      assert.equal((m as { errorCode: number }).errorCode, 0x01);
    }
  });

  test('portions never exceed the requested LENGTH nor the responder limit', () => {
    const w = makeWorld(gpu, { overrides: { reportPortionMax: 40 } });
    programStream(w, SESSION_A);
    lock(w, SESSION_A, 0, { flags: 0x4 });
    const m = tdispMsg(
      w,
      SESSION_A,
      tdispReq(0x84, interfaceIdOf(w.device, 0), { offset: 0, length: 0xffff }),
    );
    assert.equal(m.code, 0x04);
    assert.equal((m as { portion: Uint8Array }).portion.length, 40);
  });
});
