/**
 * pci_tsm_ops bind, stop and unbind of the CCA host driver (RMM specification 1.1, A9.4):
 * bind is RMI_VDEV_CREATE for the Realm, the transaction that brings the interface to
 * CONFIG_UNLOCKED, then RMI_VDEV_LOCK and its transaction (LOCK_INTERFACE_REQUEST), each
 * carried by RMI_VDEV_COMMUNICATE over the DSM's DOE mailbox. Stop is RMI_VDEV_UNLOCK and
 * its transaction (STOP_INTERFACE_REQUEST: CONFIG_UNLOCKED, scrubbed; the RMM disables DMA
 * at once). The RMM refuses UNLOCK while device memory of the VDEV is mapped, so stop first
 * takes back what the driver mapped (RMI_VDEV_UNMAP; a page the Realm validated is left
 * RIPAS_DESTROYED: the Realm cannot miss it). Unbind is RMI_VDEV_DESTROY.
 *
 * Trusted DMA has no host half in CCA: the RMM programs the SMMU itself when the Realm
 * enables DMA (RSI_VDEV_DMA_ENABLE), so the host only checks that the VDEV is locked.
 */
import type { VdevCommunicated, VdevRef } from '../../../platform/cca/host-abi.ts';
import type { Rid, VmId } from '../../../platform/ids.ts';
import { PAGE_SHIFT } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, type RmiRun, refuseRun, rmiCall, rmiFailed, rmiRun } from './firmware.ts';
import { type CcaVdevRecord, ccaRecords, ccaRecordsToWrite, pdevOf } from './records.ts';

type VdevState = VdevCommunicated['state'];

const hex = (rid: Rid) => `0x${rid.toString(16)}`;

export const vdevRef = (v: CcaVdevRecord): VdevRef => ({ rd: v.rd, pdev: v.pdev, vdev: v.tdi });

/**
 * Starts a device transaction with `call` (none for the one VDEV_CREATE leaves) and carries
 * it with RMI_VDEV_COMMUNICATE; the VDEV must end in `expect`. Answers the cached object.
 */
export async function vdevTransaction(
  run: RmiRun,
  ref: VdevRef,
  call: string | undefined,
  expect: VdevState,
): Promise<HostOutcome<Uint8Array | undefined>> {
  if (call) {
    const s = await rmiCall(run, call, { ...ref });
    if (!s.ok) return rmiFailed(run, s);
  }
  const c = await rmiCall<VdevCommunicated>(run, 'RMI_VDEV_COMMUNICATE', { ...ref }, ref.pdev);
  if (!c.ok || !c.value) return rmiFailed(run, c);
  if (c.value.state !== expect) {
    const why = `${call ?? 'RMI_VDEV_CREATE'}: the VDEV is ${c.value.state}, not ${expect}`;
    return refuseRun(run, 'EIO', `${why}${c.detail ? ` (${c.detail})` : ''}`);
  }
  return doneRun(run, c.value.cache);
}

export async function ccaBind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; vdevId: number },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  const d = pdevOf(h, a.rid);
  if (!d) return refuseRun(run, 'ENXIO', `no PDEV for ${hex(a.rid)}`);
  const ref: VdevRef = { rd: a.vm, pdev: d.pdev, vdev: a.rid };
  const vdevId = BigInt(a.vdevId);
  const c = await rmiCall(run, 'RMI_VDEV_CREATE', { rd: a.vm, pdev: d.pdev, tdi: a.rid, vdevId });
  if (!c.ok) return rmiFailed(run, c);
  for (const [call, expect] of [
    [undefined, 'VDEV_UNLOCKED'],
    ['RMI_VDEV_LOCK', 'VDEV_LOCKED'],
  ] as const) {
    const t = await vdevTransaction(run, ref, call, expect);
    if (!t.ok) {
      // Leave the RMM as it was: the VDEV is NEW, UNLOCKED or ERROR, all destroyable.
      await rmiCall(run, 'RMI_VDEV_DESTROY', { ...ref });
      return { ...t, events: run.events };
    }
  }
  ccaRecordsToWrite(h).vdevs.set(a.rid, { tdi: a.rid, pdev: d.pdev, rd: a.vm, vdevId });
  return doneRun(run, undefined);
}

export async function ccaStop(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome> {
  const run = rmiRun(m);
  const v = ccaRecords(h).vdevs.get(a.rid);
  if (!v) return refuseRun(run, 'ENXIO', `no VDEV ${hex(a.rid)}`);
  const s = await rmiCall<VdevState>(run, 'RMI_VDEV_GET_STATE', { vdev: a.rid });
  if (!s.ok) return rmiFailed(run, s);
  if (s.value === 'VDEV_UNLOCKED') return doneRun(run, undefined);
  const realm = ccaRecords(h).realms.get(v.rd);
  for (const [gfn, e] of realm?.mmio ?? []) {
    if (e.tdi !== a.rid || e.released) continue;
    const u = await rmiCall(run, 'RMI_VDEV_UNMAP', { rd: v.rd, ipa: gfn << PAGE_SHIFT });
    if (!u.ok) return rmiFailed(run, u);
    // Recorded at once: the RMM no longer maps it, whatever happens next.
    ccaRecordsToWrite(h)
      .realms.get(v.rd)
      ?.mmio.set(gfn, { ...e, released: true });
  }
  const t = await vdevTransaction(run, vdevRef(v), 'RMI_VDEV_UNLOCK', 'VDEV_UNLOCKED');
  if (!t.ok) return t;
  const { report: _stale, ...rest } = v;
  ccaRecordsToWrite(h).vdevs.set(a.rid, rest);
  return doneRun(run, undefined);
}

export async function ccaUnbind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  const v = ccaRecords(h).vdevs.get(a.rid);
  if (!v) return refuseRun(run, 'ENXIO', `no VDEV ${hex(a.rid)}`);
  const d = await rmiCall(run, 'RMI_VDEV_DESTROY', { ...vdevRef(v) });
  // Still locked, or device memory still mapped: the TDI is in use.
  if (!d.ok) return rmiFailed(run, d, { RMI_ERROR_DEVICE: 'EBUSY' });
  ccaRecordsToWrite(h).vdevs.delete(a.rid);
  return doneRun(run, undefined);
}

export async function ccaEnableTrustedDma(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  if (!ccaRecords(h).vdevs.has(a.rid)) return refuseRun(run, 'ENXIO', `no VDEV ${hex(a.rid)}`);
  const s = await rmiCall<VdevState>(run, 'RMI_VDEV_GET_STATE', { vdev: a.rid });
  if (!s.ok) return rmiFailed(run, s);
  if (s.value !== 'VDEV_LOCKED' && s.value !== 'VDEV_STARTED') {
    return refuseRun(
      run,
      'EINVAL',
      `VDEV ${hex(a.rid)} is ${s.value}: the Realm cannot enable DMA`,
    );
  }
  return doneRun(run, undefined);
}
