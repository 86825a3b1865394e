/**
 * Private MMIO of an SNP guest through the SEV host driver (the SEV-TIO KVM series'
 * tio_make_mmio_private; sev-dev-tsm.c tdi_share_mmio): a BAR page of a bound TDI becomes
 * the guest's by RMPUPDATE to the guest's ASID at its GPA; the PSP checks the page lies in
 * a TEE range of the report of a TDI bound to that guest (-EFAULT otherwise, as rmpupdate()
 * answers). The guest then validates it (TIO_MSG_MMIO_VALIDATE_REQ). Unmapping is
 * RMPUPDATE back to the host, which the PSP never refuses: under a guest running a TDI it
 * fences the guest's whole ASID (its MMIO reads all ones, writes dropped, DMA stopped),
 * the guest's way of learning of it; the driver does not hide that by stopping the TDI
 * first. A page the TDI's stop (TIO_TDI_UNBIND) already gave back is only forgotten.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import { PAGE_SHIFT } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, hex, psp, pspFailed, pspRun, refuseRun } from './firmware.ts';
import { isRefusal, snpGuest } from './guest.ts';

/** PCI_STD_NUM_BARS. */
const BARS = 6;

/** Whether bus address `pa` lies in a BAR of `rid` (the host's own enumeration). */
function inBar(m: HostMachine, rid: Rid, pa: bigint): boolean {
  for (let bar = 0; bar < BARS; bar++) {
    const b = m.barAddress(rid, bar);
    if (b && pa >= b.base && pa < b.base + b.size) return true;
  }
  return false;
}

export async function sevMapPrivateMmio(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint; pfn: bigint; rid: Rid },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const g = snpGuest(run, h, a.vm);
  if (isRefusal(g)) return g;
  const spa = a.pfn << PAGE_SHIFT;
  if (!inBar(m, a.rid, spa)) {
    return refuseRun(run, 'EINVAL', `${hex(spa)} is in no BAR of ${hex(a.rid)}`);
  }
  if (g.ram.has(a.gfn) || g.mmio.has(a.gfn)) {
    return refuseRun(run, 'EEXIST', `gfn ${hex(a.gfn)} is private already`);
  }
  const r = await psp(run, 'RMPUPDATE', {
    spa,
    assigned: true,
    asid: g.asid,
    gpa: a.gfn << PAGE_SHIFT,
  });
  if (!r.ok) return pspFailed(run, r);
  g.mmio.set(a.gfn, { pfn: a.pfn, rid: a.rid });
  return doneRun(run, undefined);
}

export async function sevUnmapPrivateMmio(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const g = snpGuest(run, h, a.vm);
  if (isRefusal(g)) return g;
  const e = g.mmio.get(a.gfn);
  if (!e) return refuseRun(run, 'ENOENT', `gfn ${hex(a.gfn)} is no private MMIO`);
  if (!e.released) {
    const r = await psp(run, 'RMPUPDATE', { spa: e.pfn << PAGE_SHIFT, assigned: false });
    if (!r.ok) return pspFailed(run, r);
  }
  g.mmio.delete(a.gfn);
  return doneRun(run, undefined);
}
