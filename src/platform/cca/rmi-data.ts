/**
 * RMI commands on a Realm's private RAM (RMM specification 1.1, A2.2 and B4.3:
 * RMI_DATA_CREATE, RMI_DATA_CREATE_UNKNOWN, RMI_DATA_DESTROY): a delegated host granule
 * becomes a Protected IPA page of one Realm through the core's private memory.
 *
 * RMI_DATA_CREATE is the Realm's initial image: only while the Realm is new (not yet
 * activated), measured, present at once. RMI_DATA_CREATE_UNKNOWN adds a page with no
 * defined contents; once the Realm runs it is usable only after the Realm asks for it as
 * RAM (RSI_IPA_STATE_SET, guest-abi.ts). RMI_DATA_DESTROY takes the page back in one
 * command (block, TLB invalidate, remove), scrubbed; a page the Realm could use (RIPAS_RAM)
 * is left RIPAS_DESTROYED, so the Realm's next access to it is a fatal abort instead of a
 * silent read of whatever the Host puts there later.
 */
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT, pfnKey } from '../ids.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAdd, tsmMemBlock, tsmMemReleasable, tsmMemRemove } from '../tsm/private-memory.ts';
import { tsmTrack } from '../tsm/private-mmio.ts';
import type { VmId } from '../tsm/state.ts';
import { RMI_STATUS_OF, rmi } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';

const PAGE_MASK = (1n << PAGE_SHIFT) - 1n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

export interface DataCreateArgs {
  rd: VmId;
  /** Protected IPA of the page. */
  ipa: bigint;
  /** Host physical address of the granule that becomes the Realm's. */
  data: bigint;
}

function create(p: CcaPlatform, call: string, a: DataCreateArgs, initial: boolean): AbiOutcome {
  const args = { rd: a.rd, ipa: a.ipa, data: a.data };
  if (!p.vendor.realms.has(a.rd))
    return rmi(call, args, 'RMI_ERROR_INPUT', undefined, `no Realm ${a.rd}`);
  if ((a.ipa & PAGE_MASK) !== 0n || (a.data & PAGE_MASK) !== 0n || a.ipa < 0n || a.data < 0n) {
    return rmi(call, args, 'RMI_ERROR_INPUT', undefined, 'ipa and data must be page aligned');
  }
  if (initial && p.tsm.vms.get(a.rd)?.finalized) {
    return rmi(
      call,
      args,
      'RMI_ERROR_REALM',
      undefined,
      `${a.rd} is active: its image is measured`,
    );
  }
  const r = tsmMemAdd(p, a.rd, a.ipa >> PAGE_SHIFT, a.data >> PAGE_SHIFT);
  if (!r.ok) return rmi(call, args, RMI_STATUS_OF[r.reason], undefined, r.detail);
  return rmi(call, args, 'RMI_SUCCESS');
}

/** A page of the Realm's initial image; refused once the Realm is active. */
export function rmiDataCreate(p: CcaPlatform, _env: TsmEnv, a: DataCreateArgs): AbiOutcome {
  return create(p, 'RMI_DATA_CREATE', a, true);
}

/** A page with unknown contents; after activation it waits for the Realm's RSI_IPA_STATE_SET. */
export function rmiDataCreateUnknown(p: CcaPlatform, _env: TsmEnv, a: DataCreateArgs): AbiOutcome {
  return create(p, 'RMI_DATA_CREATE_UNKNOWN', a, false);
}

export interface DataDestroyArgs {
  rd: VmId;
  ipa: bigint;
}

export function rmiDataDestroy(p: CcaPlatform, _env: TsmEnv, a: DataDestroyArgs): AbiOutcome {
  const call = 'RMI_DATA_DESTROY';
  const args = { rd: a.rd, ipa: a.ipa };
  if (!p.vendor.realms.has(a.rd))
    return rmi(call, args, 'RMI_ERROR_INPUT', undefined, `no Realm ${a.rd}`);
  const gfn = a.ipa >> PAGE_SHIFT;
  const e = p.hw.septs.get(a.rd)?.entries[pfnKey(gfn)];
  if ((a.ipa & PAGE_MASK) !== 0n || e?.target.kind !== 'memory' || e.state === 'removed') {
    const why = `IPA ${hex(a.ipa)} holds no data granule (${e ? `${e.target.kind} ${e.state}` : 'unassigned'})`;
    return rmi(call, args, 'RMI_ERROR_RTT', undefined, why);
  }
  // Before the block: a refused command changes nothing (a page the IOMMU's own table still
  // maps, switch dmaTable 'mirrored').
  const dma = tsmMemReleasable(p, a.rd, gfn);
  if (!dma.ok) return rmi(call, args, RMI_STATUS_OF[dma.reason], undefined, dma.detail);
  // A page the Realm can use (RIPAS_RAM) becomes RIPAS_DESTROYED; a pending one is simply freed.
  const mode = e.state === 'present' ? 'destroy' : 'delete';
  // Block, invalidate, remove: one RMI command, so none of the three can be skipped.
  for (const step of [
    () => tsmMemBlock(p, a.rd, gfn),
    () => tsmTrack(p, a.rd),
    () => tsmMemRemove(p, a.rd, gfn, mode),
  ]) {
    const r = step();
    if (!r.ok) return rmi(call, args, RMI_STATUS_OF[r.reason], undefined, r.detail);
  }
  return rmi(call, args, 'RMI_SUCCESS');
}
