/**
 * The IOMMU's trusted DMA contexts, programmed only by the TSM (TDX Connect TDH.DMAR.ADD /
 * BLOCK / REMOVE and the guest's TDG.DMAR.ACCEPT; SEV-TIO's sDTE written on
 * TIO_MSG_SDTE_WRITE_REQ). A TDI's T=1 DMA needs its context 'accepted'; unbind blocks it,
 * then removes it (TDH.DMAR.REMOVE refuses a context that is not blocked). The host has no
 * way to these functions: host/ may not import this module (test/platform/structure).
 * Under the switch dmaTable 'mirrored' the accept also fills the VM's IOMMU table from its
 * secure EPT and the block drops it (iommu-mirror.ts).
 */
import type { Rid, VmId } from './ids.ts';
import type { IommuState } from './iommu.ts';
import { mirrorDropUnused, mirrorFill } from './iommu-mirror.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';
import type { SeptState } from './sept.ts';

export type SecureDmaError = 'EEXIST' | 'ENOENT' | 'EINVAL' | 'EPERM';

type SecureOutcome = Outcome<OpResult<object, SecureDmaError>>;

const who = (rid: Rid) => `requester 0x${rid.toString(16)}`;

/** TDH.DMAR.ADD: a trusted DMA context binding `rid` to `vm`, not yet accepted. */
export function secureDmaAdd(iommu: IommuState, rid: Rid, vm: VmId): SecureOutcome {
  const op = 'TDH.DMAR.ADD';
  const cur = iommu.secure.get(rid);
  if (cur) return refuse(op, 'EEXIST', `${who(rid)} has a context for ${cur.vm} (${cur.state})`);
  iommu.secure.set(rid, { vm, state: 'added' });
  return done({}, { kind: 'secure-dma', op, rid, vm });
}

/**
 * TDG.DMAR.ACCEPT: the guest `vm` accepts DMA from `rid` (only its own, only once). Under
 * 'mirrored' the firmware copies `sept`, the VM's secure EPT, into the VM's IOMMU table.
 */
export function secureDmaAccept(
  iommu: IommuState,
  rid: Rid,
  vm: VmId,
  sept?: SeptState,
): SecureOutcome {
  const op = 'TDG.DMAR.ACCEPT';
  const cur = iommu.secure.get(rid);
  if (!cur) return refuse(op, 'ENOENT', `${who(rid)} has no trusted DMA context`);
  if (cur.vm !== vm) return refuse(op, 'EPERM', `${who(rid)} is bound to ${cur.vm}, not ${vm}`);
  if (cur.state !== 'added') return refuse(op, 'EINVAL', `${who(rid)}'s context is ${cur.state}`);
  cur.state = 'accepted';
  if (iommu.secureDmaTable === 'mirrored') mirrorFill(iommu, vm, sept);
  return done({}, { kind: 'secure-dma', op, rid, vm });
}

/**
 * TDH.DMAR.BLOCK: no more T=1 DMA from `rid` (first step of unbind). Under 'mirrored' the
 * VM's IOMMU table goes with its last accepted context: nothing may translate through it.
 */
export function secureDmaBlock(iommu: IommuState, rid: Rid): SecureOutcome {
  const op = 'TDH.DMAR.BLOCK';
  const cur = iommu.secure.get(rid);
  if (!cur) return refuse(op, 'ENOENT', `${who(rid)} has no trusted DMA context`);
  if (cur.state === 'blocked') return refuse(op, 'EINVAL', `${who(rid)}'s context is blocked`);
  cur.state = 'blocked';
  if (iommu.secureDmaTable === 'mirrored') mirrorDropUnused(iommu, cur.vm);
  return done({}, { kind: 'secure-dma', op, rid, vm: cur.vm });
}

/** TDH.DMAR.REMOVE: frees a blocked context. */
export function secureDmaRemove(iommu: IommuState, rid: Rid): SecureOutcome {
  const op = 'TDH.DMAR.REMOVE';
  const cur = iommu.secure.get(rid);
  if (!cur) return refuse(op, 'ENOENT', `${who(rid)} has no trusted DMA context`);
  if (cur.state !== 'blocked') {
    return refuse(op, 'EINVAL', `${who(rid)}'s context is ${cur.state}, not blocked`);
  }
  iommu.secure.delete(rid);
  return done({}, { kind: 'secure-dma', op, rid, vm: cur.vm });
}
