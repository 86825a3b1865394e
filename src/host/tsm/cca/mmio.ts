/**
 * Private MMIO of a Realm through the CCA host driver (RMM specification 1.1 "v1.1 DA"):
 * KVM maps a page of a bound TDI's BAR with RMI_VDEV_MAP (the RMM checks the VDEV is this
 * Realm's, locked, and the page inside its report) and unmaps it with RMI_VDEV_UNMAP, which
 * the RMM never refuses for a mapped page: under a running Realm the page the Realm
 * validated becomes RIPAS_DESTROYED and the Realm's next access to it is a fatal abort.
 * A page the driver's stop already took back is only forgotten.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import { PAGE_SHIFT } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, rmiCall, rmiFailed, rmiRun } from './firmware.ts';
import { ccaRecords, ccaRecordsToWrite } from './records.ts';

export async function ccaMapPrivateMmio(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint; pfn: bigint; rid: Rid },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  const pa = a.pfn << PAGE_SHIFT;
  const r = await rmiCall(run, 'RMI_VDEV_MAP', {
    rd: a.vm,
    vdev: a.rid,
    ipa: a.gfn << PAGE_SHIFT,
    pa,
  });
  // The IPA already assigned (RMI_ERROR_RTT) is a mapping that exists.
  if (!r.ok) return rmiFailed(run, r, { RMI_ERROR_RTT: 'EEXIST' });
  ccaRecordsToWrite(h).realms.get(a.vm)?.mmio.set(a.gfn, { tdi: a.rid, pa });
  return doneRun(run, undefined);
}

export async function ccaUnmapPrivateMmio(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  if (!ccaRecords(h).realms.get(a.vm)?.mmio.get(a.gfn)?.released) {
    const r = await rmiCall(run, 'RMI_VDEV_UNMAP', { rd: a.vm, ipa: a.gfn << PAGE_SHIFT });
    if (!r.ok) return rmiFailed(run, r);
  }
  ccaRecordsToWrite(h).realms.get(a.vm)?.mmio.delete(a.gfn);
  return doneRun(run, undefined);
}
