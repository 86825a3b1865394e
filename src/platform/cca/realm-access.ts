/**
 * A Realm's own load or store to device memory (RMM specification 1.1, A5.2.2 RIPAS and
 * A5.2.6 Realm access to a Protected IPA): not an RSI command but the access itself, which
 * the RMM sees only when it faults. A Protected IPA whose RIPAS is RIPAS_DESTROYED (device
 * memory the Host unmapped after the Realm validated it) is a fatal abort: the Realm runs no
 * more (SYSTEM.md invariant 10: the host cannot silently unmap what the guest uses; CCA
 * kills the guest). The fabric and the device need not know yet: the RMM decides before the
 * access leaves the CPU. Any other access goes through the secure stage 2 and the fabric as
 * on the other flavours (a page still RIPAS_EMPTY is not present there and is refused).
 */

import type { PlatformEvent } from '../events.ts';
import type { Bus, FabricViews, MmioAccess } from '../fabric.ts';
import { guestMmioRead, guestMmioWrite } from '../fabric.ts';
import { PAGE_SHIFT } from '../ids.ts';
import type { VmId } from '../tsm/state.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import type { Ripas } from './status.ts';

/** The RMM's record of a Realm's fatal abort. */
export interface RealmAbortEvent {
  kind: 'realm-abort';
  realm: VmId;
  ipa: bigint;
  ripas: Ripas;
  fatal: true;
}

export type RealmAccessResult =
  /** The access reached the fabric: its completion and (for a read) the data. */
  | { kind: 'access'; access: MmioAccess | { status: MmioAccess['status'] } }
  /** The Realm took a fatal abort on this access and is dead. */
  | { kind: 'fatal-abort'; ripas: Ripas }
  /** The Realm died earlier: nothing runs. */
  | { kind: 'realm-dead' };

export interface RealmAccess {
  realm: VmId;
  /** Guest physical address (a Protected IPA unless it carries the shared bit). */
  ipa: bigint;
  /** A read of `size` bytes, or a write of `data`. */
  size?: number;
  data?: Uint8Array;
}

/** The Realm `a.realm` reads or writes device memory at `a.ipa`. */
export function realmMmioAccess(
  p: CcaPlatform,
  bus: Bus,
  views: FabricViews,
  a: RealmAccess,
): { result: RealmAccessResult; events: (PlatformEvent | RealmAbortEvent)[] } {
  const realm = p.vendor.realms.get(a.realm);
  if (!realm || realm.dead) return { result: { kind: 'realm-dead' }, events: [] };
  const shared = (a.ipa & p.hw.fabric.sharedGpaMask) !== 0n;
  const page = (a.ipa >> PAGE_SHIFT) << PAGE_SHIFT;
  const ripas = shared ? undefined : realm.ipas.get(page)?.ripas;
  if (ripas === 'RIPAS_DESTROYED') {
    realm.dead = { ipa: a.ipa, ripas };
    const ev: RealmAbortEvent = {
      kind: 'realm-abort',
      realm: a.realm,
      ipa: a.ipa,
      ripas,
      fatal: true,
    };
    return { result: { kind: 'fatal-abort', ripas }, events: [ev] };
  }
  if (a.data) {
    const w = guestMmioWrite(p.hw, bus, views, a.realm, a.ipa, a.data);
    return { result: { kind: 'access', access: w.result }, events: w.events };
  }
  const r = guestMmioRead(p.hw, bus, views, a.realm, a.ipa, a.size ?? 4);
  return { result: { kind: 'access', access: r.result }, events: r.events };
}
