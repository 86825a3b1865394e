/**
 * KVM's SEV-SNP calls through the SEV host driver (arch/x86/kvm/svm/sev.c): an SNP guest is
 * a guest context page the host donates (SNP_GCTX_CREATE, snp_context_create) and an ASID
 * bound to it (SNP_ACTIVATE, snp_launch_start); SNP_LAUNCH_FINISH ends the launch;
 * SNP_DECOMMISSION frees the context, refused by the PSP while a TDI is bound or a page is
 * still assigned (-EBUSY). A private page is an RMPUPDATE of the host frame to the guest's
 * ASID at its GPA (rmp_make_private; the guest then PVALIDATEs it) and back to the host
 * (rmp_make_shared, the page scrubbed).
 *
 * The driver picks the context page and the ASID: ASIDs from 1 up, as sev_asid_new takes the
 * lowest free one; context pages from the top of host memory down, away from the pages KVM
 * allocates lowest first (snp_alloc_firmware_page).
 */
import { PAGE_SHIFT, PAGE_SIZE, type VmId } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, hex, type PspRun, psp, pspFailed, pspRun, refuseRun } from './firmware.ts';
import { type SevGuestRecord, sevRecords, sevRecordsToWrite } from './records.ts';

/** The lowest ASID and the highest free context page no guest of this driver has. */
function pickContext(m: HostMachine, h: HostState): { gctx: number; asid: number } | undefined {
  const guests = [...sevRecords(h).guests.values()];
  const asids = new Set(guests.map((g) => g.asid));
  const pages = new Set(guests.map((g) => g.gctx));
  let asid = 1;
  while (asids.has(asid)) asid++;
  const top = m.memoryMap.at(-1);
  if (!top) return undefined;
  const page = BigInt(PAGE_SIZE);
  for (let a = ((top.base + top.size) & ~(page - 1n)) - page; a >= top.base; a -= page) {
    if (!pages.has(Number(a))) return { gctx: Number(a), asid };
  }
  return undefined;
}

/** KVM's SNP guest `vm`, or the refusal KVM gives a VM that is not one (-EINVAL). */
export function snpGuest(run: PspRun, h: HostState, vm: VmId): SevGuestRecord | HostOutcome<never> {
  return sevRecords(h).guests.get(vm) ?? refuseRun(run, 'EINVAL', `${vm} is not an SNP guest`);
}

export const isRefusal = (x: object): x is HostOutcome<never> => 'ok' in x;

export async function sevVmCreate(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = pspRun(m);
  if (sevRecords(h).guests.has(vm)) return refuseRun(run, 'EEXIST', `${vm} has a guest context`);
  const pick = pickContext(m, h);
  if (!pick) return refuseRun(run, 'ENOMEM', 'no page for a guest context');
  const { gctx, asid } = pick;
  const c = await psp(run, 'SNP_GCTX_CREATE', { gctx });
  if (!c.ok) return pspFailed(run, c);
  const a = await psp(run, 'SNP_ACTIVATE', { gctx, asid });
  if (!a.ok) {
    // snp_launch_start's error path: the context goes again.
    await psp(run, 'SNP_DECOMMISSION', { gctx });
    return pspFailed(run, a);
  }
  sevRecordsToWrite(h).guests.set(vm, {
    vm,
    gctx,
    asid,
    launched: false,
    ram: new Map(),
    mmio: new Map(),
  });
  return doneRun(run, undefined);
}

export async function sevVmFinalize(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = pspRun(m);
  const g = snpGuest(run, h, vm);
  if (isRefusal(g)) return g;
  const f = await psp(run, 'SNP_LAUNCH_FINISH', { gctx: g.gctx });
  if (!f.ok) return pspFailed(run, f);
  g.launched = true;
  return doneRun(run, undefined);
}

export async function sevVmDestroy(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = pspRun(m);
  const g = snpGuest(run, h, vm);
  if (isRefusal(g)) return g;
  const d = await psp(run, 'SNP_DECOMMISSION', { gctx: g.gctx });
  // A TDI still bound (IN_USE) or a page still assigned (INVALID_PAGE_STATE): in use.
  if (!d.ok) return pspFailed(run, d, { SEV_RET_INVALID_PAGE_STATE: 'EBUSY' });
  sevRecordsToWrite(h).guests.delete(vm);
  return doneRun(run, undefined);
}

export async function sevMapPrivatePage(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint; hpfn: bigint },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const g = snpGuest(run, h, a.vm);
  if (isRefusal(g)) return g;
  if (g.ram.has(a.gfn) || g.mmio.has(a.gfn)) {
    return refuseRun(run, 'EEXIST', `gfn ${hex(a.gfn)} is private already`);
  }
  const r = await psp(run, 'RMPUPDATE', {
    spa: a.hpfn << PAGE_SHIFT,
    assigned: true,
    asid: g.asid,
    gpa: a.gfn << PAGE_SHIFT,
  });
  if (!r.ok) return pspFailed(run, r);
  g.ram.set(a.gfn, a.hpfn);
  return doneRun(run, undefined);
}

export async function sevUnmapPrivatePage(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const g = snpGuest(run, h, a.vm);
  if (isRefusal(g)) return g;
  const hpfn = g.ram.get(a.gfn);
  if (hpfn === undefined) return refuseRun(run, 'ENOENT', `gfn ${hex(a.gfn)} is not private`);
  // Under a guest running a TDI the PSP fences the ASID (the guest learns it); KVM goes on.
  const r = await psp(run, 'RMPUPDATE', { spa: hpfn << PAGE_SHIFT, assigned: false });
  if (!r.ok) return pspFailed(run, r);
  g.ram.delete(a.gfn);
  return doneRun(run, undefined);
}
