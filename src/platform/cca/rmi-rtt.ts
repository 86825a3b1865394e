/**
 * RMI commands that map a VDEV's device memory into a Realm's RTT, the Realm's secure
 * stage 2 (RMM specification 1.1 "v1.1 DA": RMI_VDEV_MAP, RMI_VDEV_UNMAP; A5.2.2 RIPAS).
 *
 * RMI_VDEV_MAP puts a page of the VDEV's BAR at a Protected IPA; the entry is not usable
 * until the Realm validates it (RSI_VDEV_VALIDATE_MAPPING), which moves its RIPAS from
 * RIPAS_EMPTY to RIPAS_DEV. The core allows the page only for a TDI bound to this Realm and
 * inside a TEE range of its report. RMI_VDEV_UNMAP is the Host taking the page back: the RMM
 * blocks the entry, invalidates the TLBs and removes it in one command; a page the Realm had
 * validated becomes RIPAS_DESTROYED, so the Realm's next access to it is a fatal abort
 * (realm-access.ts) instead of a silent read of whatever the Host maps there later. A page
 * never validated returns to unassigned, RIPAS_EMPTY.
 */
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT } from '../ids.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMmioBlock, tsmMmioMap, tsmMmioUnmap, tsmTrack } from '../tsm/private-mmio.ts';
import type { VmId } from '../tsm/state.ts';
import { RMI_STATUS_OF, rmi } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import type { RmiStatus } from './status.ts';

const PAGE_MASK = (1n << PAGE_SHIFT) - 1n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

export interface VdevMapArgs {
  rd: VmId;
  /** tdi_id of the VDEV. */
  vdev: number;
  /** Protected IPA of the page. */
  ipa: bigint;
  /** Host physical (bus) address of the BAR page. */
  pa: bigint;
}

export function rmiVdevMap(p: CcaPlatform, _env: TsmEnv, a: VdevMapArgs): AbiOutcome {
  const call = 'RMI_VDEV_MAP';
  const args = { rd: a.rd, vdev: a.vdev, ipa: a.ipa, pa: a.pa };
  const fail = (s: RmiStatus, why: string) => rmi(call, args, s, undefined, why);
  const realm = p.vendor.realms.get(a.rd);
  if (!realm) return fail('RMI_ERROR_INPUT', `no Realm ${a.rd}`);
  const v = p.vendor.vdevs.get(a.vdev);
  if (!v || v.realm !== a.rd) return fail('RMI_ERROR_INPUT', `no VDEV ${a.vdev} in ${a.rd}`);
  if ((a.ipa & PAGE_MASK) !== 0n || (a.pa & PAGE_MASK) !== 0n || a.ipa < 0n || a.pa < 0n) {
    return fail('RMI_ERROR_INPUT', 'ipa and pa must be page aligned');
  }
  if (!p.tsm.vms.get(a.rd)?.finalized) {
    return fail('RMI_ERROR_REALM', `${a.rd} is not active: nothing would wait for validation`);
  }
  const cur = realm.ipas.get(a.ipa);
  if (cur) return fail('RMI_ERROR_RTT', `IPA ${hex(a.ipa)} is ${cur.ripas}, not unassigned`);
  if (v.state !== 'VDEV_LOCKED' && v.state !== 'VDEV_STARTED') {
    return fail('RMI_ERROR_DEVICE', `VDEV is ${v.state}`);
  }
  const r = tsmMmioMap(p, a.rd, a.vdev, a.ipa >> PAGE_SHIFT, a.pa >> PAGE_SHIFT);
  if (!r.ok) return fail(RMI_STATUS_OF[r.reason], r.detail);
  realm.ipas.set(a.ipa, { ripas: 'RIPAS_EMPTY', vdev: a.vdev, pa: a.pa });
  return rmi(call, args, 'RMI_SUCCESS');
}

export interface VdevUnmapArgs {
  rd: VmId;
  ipa: bigint;
}

export function rmiVdevUnmap(p: CcaPlatform, _env: TsmEnv, a: VdevUnmapArgs): AbiOutcome {
  const call = 'RMI_VDEV_UNMAP';
  const args = { rd: a.rd, ipa: a.ipa };
  const realm = p.vendor.realms.get(a.rd);
  if (!realm) return rmi(call, args, 'RMI_ERROR_INPUT', undefined, `no Realm ${a.rd}`);
  const e = realm.ipas.get(a.ipa);
  if (e?.vdev === undefined) {
    const why = `IPA ${hex(a.ipa)} maps no device memory (${e?.ripas ?? 'unassigned'})`;
    return rmi(call, args, 'RMI_ERROR_RTT', undefined, why);
  }
  const gfn = a.ipa >> PAGE_SHIFT;
  const destroy = e.ripas === 'RIPAS_DEV';
  // Block, invalidate, remove: one RMI command, so none of the three can be skipped.
  for (const step of [
    () => tsmMmioBlock(p, a.rd, gfn),
    () => tsmTrack(p, a.rd),
    () => tsmMmioUnmap(p, a.rd, gfn, destroy ? 'destroy' : 'delete'),
  ]) {
    const r = step();
    if (!r.ok) return rmi(call, args, RMI_STATUS_OF[r.reason], undefined, r.detail);
  }
  if (destroy) realm.ipas.set(a.ipa, { ripas: 'RIPAS_DESTROYED' });
  else realm.ipas.delete(a.ipa);
  return rmi(call, args, 'RMI_SUCCESS');
}
