/**
 * RMPUPDATE: how an SEV-SNP host gives a guest a page and takes it back (AMD APM vol. 3
 * "RMPUPDATE"; Linux arch/x86/virt/svm/sev.c rmp_make_private / rmp_make_shared). With
 * SEV-TIO the RMP also covers MMIO: KVM assigns a TDI's BAR pages to the guest before the
 * guest's TIO_MSG_MMIO_VALIDATE_REQ (the SEV-TIO KVM series' tio_make_mmio_private), and the
 * host's unbind makes every BAR page shared again (sev-dev-tsm.c tdi_unbind,
 * rmp_make_shared).
 *
 * - assigned: a RAM page becomes private to the guest of `asid` at `gpa` (pending its
 *   PVALIDATE once the guest runs); a BAR page joins the guest's private MMIO, only for a
 *   TDI bound to that guest and inside a TEE range of its report (the core's rule);
 * - shared: the host takes the page back. The RMP lets it, but a guest with a TDI in RUN
 *   loses something it may be using: its ASID is fenced (fence.ts) and stays so until
 *   TIO_ASID_FENCE_CLEAR. The page leaves the secure EPT (blocked, flushed, removed) and a
 *   RAM page returns to shared scrubbed. Under a mirrored IOMMU table (switch dmaTable) a RAM
 *   page the table maps is refused first (FAIL_INUSE, tsm/private-memory.ts
 *   tsmMemReleasable): no fence, nothing changed.
 *
 * Status names: RMPUPDATE's return codes (APM: FAIL_INPUT 1, FAIL_PERMISSION 2, FAIL_INUSE
 * 3, FAIL_OVERLAP 4), prefixed RMPUPDATE_ as Linux names the last one.
 */
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT } from '../ids.ts';
import { ownerOf } from '../memory.ts';
import { pfnEntries } from '../pfn-table.ts';
import type { SeptEntry } from '../sept.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAdd, tsmMemBlock, tsmMemReleasable, tsmMemRemove } from '../tsm/private-memory.ts';
import {
  inTeeRange,
  tsmMmioBlock,
  tsmMmioMap,
  tsmMmioUnmap,
  tsmTrack,
} from '../tsm/private-mmio.ts';
import type { TsmRefusal, TsmResult } from '../tsm/result.ts';
import type { VmId } from '../tsm/state.ts';
import { fenceIfRunning } from './fence.ts';
import { type Args, failure, hex, type Status, sevOutcome, success } from './outcome.ts';
import type { SevPlatform } from './state.ts';

export type RmpUpdateStatus =
  | 'RMPUPDATE_SUCCESS'
  | 'RMPUPDATE_FAIL_INPUT'
  | 'RMPUPDATE_FAIL_PERMISSION'
  | 'RMPUPDATE_FAIL_INUSE'
  | 'RMPUPDATE_FAIL_OVERLAP';

const RMP_OF: Partial<Record<TsmRefusal, RmpUpdateStatus>> = {
  'page-mapped': 'RMPUPDATE_FAIL_INUSE',
  'page-owner': 'RMPUPDATE_FAIL_PERMISSION',
  'sept-state': 'RMPUPDATE_FAIL_INUSE',
  // A page the IOMMU's mirror still maps (switch dmaTable 'mirrored'): in use by the device.
  'tdi-mapped': 'RMPUPDATE_FAIL_INUSE',
};

function rmpRefused(r: Extract<TsmResult<unknown>, { ok: false }>): Status {
  return failure(RMP_OF[r.reason] ?? 'RMPUPDATE_FAIL_INPUT', r.detail);
}

export interface RmpUpdateArgs {
  /** System physical address of the 4 KiB page (RAM or a BAR page). */
  spa: bigint;
  /** Assigned: to the guest of `asid` at `gpa`. Not assigned: back to the host. */
  assigned: boolean;
  asid?: number;
  gpa?: bigint;
}

/** The live secure-EPT entry of any VM that maps host page `hpfn`. */
function entryOf(
  p: SevPlatform,
  hpfn: bigint,
): { vm: VmId; gfn: bigint; e: SeptEntry } | undefined {
  for (const [vm, sept] of p.hw.septs) {
    for (const [gfn, e] of pfnEntries(sept.entries)) {
      if (e.target.hpfn === hpfn && e.state !== 'removed') return { vm, gfn: BigInt(gfn), e };
    }
  }
  return undefined;
}

/** RMPUPDATE of one page (see the file header). */
export function rmpUpdate(
  p: SevPlatform,
  _env: TsmEnv,
  a: RmpUpdateArgs,
): AbiOutcome<{ fenced: boolean }> {
  const call = 'RMPUPDATE';
  const args: Args = { spa: hex(a.spa), assigned: a.assigned };
  if (a.asid !== undefined) args.asid = a.asid;
  if (a.gpa !== undefined) args.gpa = hex(a.gpa);
  const out = (r: Status & { value?: { fenced: boolean } }) =>
    sevOutcome<{ fenced: boolean }>('host', call, args, r);
  if ((a.spa & 0xfffn) !== 0n || (a.gpa !== undefined && (a.gpa & 0xfffn) !== 0n)) {
    return out(failure('RMPUPDATE_FAIL_INPUT', 'not a 4 KiB page address'));
  }
  const hpfn = a.spa >> PAGE_SHIFT;
  const ram = ownerOf(p.hw.memory, hpfn) !== undefined;

  if (a.assigned) {
    const g = [...p.vendor.guests.values()].find((x) => x.asid === a.asid);
    if (!g || a.gpa === undefined) {
      return out(failure('RMPUPDATE_FAIL_INPUT', `no guest with ASID ${a.asid}, or no GPA`));
    }
    const gfn = a.gpa >> PAGE_SHIFT;
    if (ram) {
      const r = tsmMemAdd(p, g.vm, gfn, hpfn);
      return out(r.ok ? success({ fenced: false }, 'RMPUPDATE_SUCCESS') : rmpRefused(r));
    }
    const tdi = [...(p.tsm.vms.get(g.vm)?.tdis ?? [])]
      .map((rid) => p.tsm.tdis.get(rid))
      .find((t) => t !== undefined && inTeeRange(t, hpfn));
    if (!tdi) {
      const detail = `page ${hex(a.spa)} is in no TEE range of a TDI bound to ${g.vm}`;
      return out(failure('RMPUPDATE_FAIL_INPUT', detail));
    }
    const r = tsmMmioMap(p, g.vm, tdi.rid, gfn, hpfn);
    return out(r.ok ? success({ fenced: false }, 'RMPUPDATE_SUCCESS') : rmpRefused(r));
  }

  const m = entryOf(p, hpfn);
  if (!m) return out(failure('RMPUPDATE_FAIL_INPUT', `page ${hex(a.spa)} is not assigned`));
  // Before the fence: a refused RMPUPDATE changes nothing.
  const dma = m.e.target.kind === 'memory' ? tsmMemReleasable(p, m.vm, m.gfn) : undefined;
  if (dma && !dma.ok) return out(rmpRefused(dma));
  const fenced = fenceIfRunning(
    p,
    m.vm,
    `RMPUPDATE made ${m.e.target.kind} page ${hex(a.spa)} shared under a running guest`,
  );
  const steps: (() => TsmResult)[] =
    m.e.target.kind === 'memory'
      ? [
          () =>
            m.e.state === 'blocked' ? { ok: true, value: undefined } : tsmMemBlock(p, m.vm, m.gfn),
          () => tsmTrack(p, m.vm),
          () => tsmMemRemove(p, m.vm, m.gfn),
        ]
      : [
          () =>
            m.e.state === 'blocked' ? { ok: true, value: undefined } : tsmMmioBlock(p, m.vm, m.gfn),
          () => tsmTrack(p, m.vm),
          () => tsmMmioUnmap(p, m.vm, m.gfn),
        ];
  for (const step of steps) {
    const r = step();
    if (!r.ok) throw new Error(`RMPUPDATE: taking page ${hex(a.spa)} back: ${r.detail}`);
  }
  if (m.e.target.kind === 'mmio') {
    // The guest's validation of a subrange holding the page is gone with it.
    const ctx = p.vendor.tdis.get(m.e.target.rid);
    for (const [k, s] of ctx?.validated ?? []) {
      const first = s.gpa >> PAGE_SHIFT;
      if (m.gfn >= first && m.gfn < first + BigInt(s.pages)) ctx?.validated.delete(k);
    }
  }
  return out(success({ fenced }, 'RMPUPDATE_SUCCESS'));
}
