/**
 * pci_tsm_ops connect and disconnect of the CCA host driver (RMM specification 1.1, A9.2):
 * connect creates the PDEV and carries its device transactions with RMI_PDEV_COMMUNICATE,
 * lending the DSM's DOE mailbox, until the PDEV is ready: the first reads the certificate
 * chain, which the host caches and from which it gives the RMM the device's public key
 * (RMI_PDEV_SET_PUBKEY); the next is the SPDM session and the IDE keys. Disconnect is
 * RMI_PDEV_STOP, one more transaction (K_SET_STOP, END_SESSION), then RMI_PDEV_DESTROY.
 *
 * A connect that fails half way stops and destroys the PDEV it created, so the RMM is left
 * as it was; the host's records change only on success.
 */
import type { PdevCommunicated } from '../../../platform/cca/host-abi.ts';
import type { Rid } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { leafPublicKey } from './cert-key.ts';
import { doneRun, type RmiRun, refuseRun, rmiCall, rmiFailed, rmiRun } from './firmware.ts';
import { ccaRecords, ccaRecordsToWrite } from './records.ts';

/** NEW -> NEEDS_KEY -> (SET_PUBKEY) HAS_KEY -> READY: two transactions, with room to spare. */
const MAX_TRANSACTIONS = 4;

export async function ccaConnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome> {
  const run = rmiRun(m);
  const pdev = dsm;
  const c = await rmiCall(run, 'RMI_PDEV_CREATE', { pdev });
  if (!c.ok) return rmiFailed(run, c, { RMI_ERROR_INPUT: 'EBUSY' });
  let chain: Uint8Array | undefined;
  for (let i = 0; i < MAX_TRANSACTIONS; i++) {
    const t = await rmiCall<PdevCommunicated>(run, 'RMI_PDEV_COMMUNICATE', { pdev }, dsm);
    if (!t.ok || !t.value) return abandon(run, pdev, rmiFailed(run, t));
    const state = t.value.state;
    if (state === 'PDEV_READY') {
      if (!chain) return abandon(run, pdev, refuseRun(run, 'EIO', 'ready without a chain'));
      ccaRecordsToWrite(h).pdevs.set(pdev, { pdev, certChain: chain });
      return doneRun(run, undefined);
    }
    if (state !== 'PDEV_NEEDS_KEY') {
      const why = `RMI_PDEV_COMMUNICATE left the PDEV ${state}${t.detail ? `: ${t.detail}` : ''}`;
      return abandon(run, pdev, refuseRun(run, 'EIO', why));
    }
    chain = t.value.cache;
    const key = chain && leafPublicKey(chain);
    if (!key) {
      return abandon(
        run,
        pdev,
        refuseRun(run, 'EIO', 'the cached certificate chain does not parse'),
      );
    }
    const k = await rmiCall(run, 'RMI_PDEV_SET_PUBKEY', { pdev, key });
    if (!k.ok) return abandon(run, pdev, rmiFailed(run, k));
  }
  return abandon(
    run,
    pdev,
    refuseRun(run, 'EIO', `PDEV not ready after ${MAX_TRANSACTIONS} transactions`),
  );
}

/** Stops and destroys a PDEV this connect created; answers the connect's refusal `why`. */
async function abandon(run: RmiRun, pdev: Rid, why: HostOutcome): Promise<HostOutcome> {
  await stopAndDestroy(run, pdev);
  return { ...why, events: run.events };
}

/** RMI_PDEV_STOP, its transaction, RMI_PDEV_DESTROY; the first refusal, if any. */
async function stopAndDestroy(run: RmiRun, pdev: Rid): Promise<HostOutcome | undefined> {
  const s = await rmiCall(run, 'RMI_PDEV_STOP', { pdev });
  // PDEV_STOP with VDEVs left is the device still in use.
  if (!s.ok) return rmiFailed(run, s, { RMI_ERROR_DEVICE: 'EBUSY' });
  const t = await rmiCall<PdevCommunicated>(run, 'RMI_PDEV_COMMUNICATE', { pdev }, pdev);
  if (!t.ok) return rmiFailed(run, t);
  const d = await rmiCall(run, 'RMI_PDEV_DESTROY', { pdev });
  return d.ok ? undefined : rmiFailed(run, d);
}

export async function ccaDisconnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome> {
  const run = rmiRun(m);
  if (!ccaRecords(h).pdevs.has(dsm)) {
    return refuseRun(run, 'ENXIO', `no PDEV of 0x${dsm.toString(16)}`);
  }
  const r = await stopAndDestroy(run, dsm);
  if (r) return r;
  ccaRecordsToWrite(h).pdevs.delete(dsm);
  return doneRun(run, undefined);
}
