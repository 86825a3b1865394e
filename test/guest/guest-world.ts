/**
 * The guest's test world: a host world of one flavour (teeio's NIC, the TSM, the host
 * kernel's PCI/TSM core and TSM driver), a confidential VM with a two-page private image
 * launched, the GuestMachine of that VM, and a small VMM standing in for host/vmm: it
 * answers the guest's hypercalls with the host's own calls (pci_tsm_bind / guest_req /
 * stop / unbind) and maps the report's TEE pages (the MSI-X table and PBA too where the
 * report has them: locked, so private) as private MMIO at the guest's BAR once the TSM has
 * the report, with trusted DMA set up.
 */

import type { AttestationPolicy } from '../../src/guest/attest/index.ts';
import type { CollectedEvidence } from '../../src/guest/attester.ts';
import type { GuestHypercall, GuestMachine, HypercallResult } from '../../src/guest/machine.ts';
import {
  createGuestState,
  type GuestDeviceConfig,
  type GuestState,
} from '../../src/guest/state.ts';
import type { HostOutcome } from '../../src/host/outcome.ts';
import {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmGuestReq,
  pciTsmStop,
  pciTsmUnbind,
} from '../../src/host/pci-tsm/core.ts';
import { ccaTsmDriver } from '../../src/host/tsm/cca/index.ts';
import type { TsmHostDriver } from '../../src/host/tsm/driver.ts';
import { sevGuestOf, sevTsmDriver } from '../../src/host/tsm/sev/index.ts';
import { tdxTsmDriver } from '../../src/host/tsm/tdx/index.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { msixTableOf } from '../../src/platform/switches.ts';
import { decodeInterfaceReport } from '../../src/wire/tdisp/report.ts';
import { guestMachine } from '../../src/world/guest-machine.ts';
import { hostWorld, ok } from '../host/world.ts';
import { loadPolicy, referencesYaml, reportYaml, writePolicy } from './attest/evidence-rig.ts';

const DRIVERS: Record<FlavourName, TsmHostDriver> = {
  tdx: tdxTsmDriver,
  sev: sevTsmDriver,
  cca: ccaTsmDriver,
};
/** KVM's name of the VM. */
const KVM_VM: Record<FlavourName, string> = { tdx: 'td1', sev: 'kvm-vm-3', cca: 'realm1' };
export const VDEV_ID = 0x18;
/** Where the VMM puts the TDI's BAR0 in guest physical space, and the image. */
export const MMIO_GPA = 0x4000_0000n;
export const IMAGE_GFN = 0x100n;
export const IMAGE_GPA = IMAGE_GFN << PAGE_SHIFT;

/** A VMM that would rather not: every hypercall fails with `errno`. */
export type Vmm = (w: GuestWorld, call: GuestHypercall) => Promise<HypercallResult>;

function answer(o: HostOutcome<unknown>): HypercallResult {
  return o.ok ? { ok: true, value: o.value } : { ok: false, errno: o.errno, detail: o.detail };
}

/** Maps the report's TEE pages at the guest's BAR and sets up trusted DMA, once. */
async function mapReported(w: GuestWorld): Promise<HostOutcome<unknown> | undefined> {
  if (w.mapped.length) return undefined;
  const ranges = w.p.tsm.tdis.get(w.rid)?.report?.ranges ?? [];
  const bar = w.m.barAddress(w.rid, 0);
  if (!ranges.length || !bar) return undefined;
  for (const r of ranges.filter((x) => !x.nonTee)) {
    for (let k = 0n; k < BigInt(r.pages); k++) {
      const pfn = (r.base >> PAGE_SHIFT) + k;
      const gfn = (MMIO_GPA >> PAGE_SHIFT) + pfn - (bar.base >> PAGE_SHIFT);
      const o = await w.D.mapPrivateMmio(w.m, w.h, { vm: w.kvmVm, gfn, pfn, rid: w.rid });
      if (!o.ok) return o;
      w.mapped.push(gfn);
    }
  }
  return w.D.enableTrustedDma(w.m, w.h, { rid: w.rid });
}

/** The VMM's side of the guest's hypercalls, with the host kernel's calls. */
export const hostVmm: Vmm = async (w, call) => {
  const { m, h, rid } = w;
  switch (call.op) {
    case 'tsm-bind': {
      const b = await pciTsmBind(m, h, { rid, vm: w.kvmVm, vdevId: call.vdevId });
      if (!b.ok) return answer(b);
      return answer((await mapReported(w)) ?? b);
    }
    case 'tsm-guest-req': {
      // The message is sealed with the guest's key: the SEV guest context stands for it.
      const message = { ...call.message };
      if (w.flavour === 'sev') message.gctx = sevGuestOf(h, w.kvmVm)?.gctx ?? 0;
      const request = { scope: call.scope, message };
      const r = await pciTsmGuestReq(m, h, { rid, vm: w.kvmVm, request });
      if (!r.ok) return answer(r);
      const mapped = await mapReported(w);
      return answer(mapped && !mapped.ok ? mapped : r);
    }
    case 'tsm-unbind': {
      const s = await pciTsmStop(m, h, { rid });
      if (!s.ok) return answer(s);
      for (const gfn of w.mapped.splice(0)) await w.D.unmapPrivateMmio(m, h, { vm: w.kvmVm, gfn });
      return answer(await pciTsmUnbind(m, h, { rid }));
    }
    default:
      return { ok: false, errno: 'EOPNOTSUPP', detail: `${call.op} is not relayed here` };
  }
};

export interface GuestWorldOptions {
  /** What the VMM tells the guest of its device (default: BAR0 at MMIO_GPA, devsec). */
  device?: Partial<GuestDeviceConfig>;
  vmm?: Vmm;
}

export async function guestWorld(flavour: FlavourName, seed: string, o: GuestWorldOptions = {}) {
  const hw = await hostWorld(flavour, { seed });
  const D = DRIVERS[flavour];
  const kvmVm = KVM_VM[flavour];
  const { m, h, dsm } = hw;
  ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
  ok(await D.vmCreate(m, h, kvmVm));
  const base = m.memoryMap[0].base >> PAGE_SHIFT;
  for (const i of [0n, 1n]) {
    ok(await D.mapPrivatePage(m, h, { vm: kvmVm, gfn: IMAGE_GFN + i, hpfn: base + i }));
  }
  ok(await D.vmFinalize(m, h, kvmVm));
  const vm = flavour === 'sev' ? (sevGuestOf(h, kvmVm)?.firmwareVm ?? '') : kvmVm;
  const bar = m.barAddress(hw.rid, 0);
  if (!bar) throw new Error('the TDI has no BAR0');
  const device: GuestDeviceConfig = {
    vdevId: VDEV_ID,
    interfaceId: hw.tdi.interfaceId,
    bars: [{ index: 0, address: MMIO_GPA, size: bar.size }],
    devsec: true,
    ...o.device,
  };
  const vmm = o.vmm ?? hostVmm;
  const w = { ...hw, D, kvmVm, vm, mapped: [] as bigint[] } as GuestWorld;
  w.g = createGuestState(flavour, [device], seed);
  w.gm = guestMachine(hw.w, { vm, hypercall: (call) => vmm(w, call) });
  return w;
}

export type GuestWorld = Awaited<ReturnType<typeof hostWorld>> & {
  D: TsmHostDriver;
  kvmVm: string;
  vm: string;
  mapped: bigint[];
  g: GuestState;
  gm: GuestMachine;
};

/**
 * A policy pinning what `c` shows (the device's root, every measurement, the report's
 * locked configuration): reference values taken from a known-good run of the same seed.
 */
export function referencePolicy(w: GuestWorld, c: CollectedEvidence): AttestationPolicy {
  const report = decodeInterfaceReport(c.evidence.report.bytes);
  // A LOCK without LOCK_MSIX (TDX's own answer) leaves the MSI-X table and PBA out of the
  // report: holes in BAR0.
  const holes =
    msixTableOf(w.p.switches, w.flavour) === 'shared'
      ? 'report:\n  allowHoles: true\n'
      : 'report:\n';
  const yaml = `trustAnchors:
  - file: root.pem
leaf:
  spdmEku: responder
measurements:
  allowUnlisted: false
  reference:
${referencesYaml([...c.evidence.measurements])}${reportYaml(report)
  .replace('required: [NO_FW_UPDATE, LOCK_MSIX]', 'required: []')
  .replace('report:\n', holes)}states: [CONFIG_LOCKED]
`;
  return loadPolicy(writePolicy(yaml, w.dev.root));
}
