/**
 * Steps of the SEV-TIO lifecycle through the flavour's ABI only (SYSTEM.md section 4, AMD
 * column), for tests to start from a given point: a guest context with its ASID, a
 * connected device with a TDI context, the TDI bound (CONFIG_LOCKED), the TDI in RUN.
 */
import { type MsgSeal, sealTag, tioMsgSdteWriteReq } from '../../../src/platform/sev/guest-abi.ts';
import {
  type GuestMessage,
  sealedBody,
  snpActivate,
  snpGctxCreate,
  snpLaunchFinish,
  tioDevConnect,
  tioDevCreate,
  tioTdiBind,
  tioTdiCreate,
} from '../../../src/platform/sev/host-abi.ts';
import type { SevPlatform } from '../../../src/platform/sev/state.ts';
import { ASID, GCTX, GUEST_BDF, ok, type SevWorld } from './world.ts';

/**
 * The seal the honest guest puts on `message` (platform/sev/guest-seal.ts): its VMPCK, the
 * sequence number after the firmware's last. Tests read the key from the firmware's record,
 * as the guest reads it from its secrets page.
 */
export function sealAs(p: SevPlatform, message: GuestMessage): MsgSeal {
  const g = p.vendor.guests.get(message.args.gctx);
  const seq = (g?.msgSeq ?? 0) + 1;
  return { seq, tag: sealTag(g?.vmpck ?? '', seq, sealedBody(message)) };
}

/** A launched guest context with its ASID. */
export function guest(w: SevWorld, gctx = GCTX, asid = ASID): void {
  ok(snpGctxCreate(w.p, w.env, { gctx }));
  ok(snpActivate(w.p, w.env, { gctx, asid }));
  ok(snpLaunchFinish(w.p, w.env, { gctx }));
}

/** TIO_DEV_CREATE + TIO_DEV_CONNECT + TIO_TDI_CREATE. */
export async function connected(w: SevWorld): Promise<void> {
  ok(tioDevCreate(w.p, w.env, { deviceId: w.fn0, rootPortId: 0, segmentId: 0 }));
  ok(await tioDevConnect(w.p, w.env, { dev: w.fn0, tcMask: 1, ideStreamIds: [0] }, w.carrier));
  ok(tioTdiCreate(w.p, w.env, { dev: w.fn0, tdi: w.rid }));
}

/** ... + TIO_TDI_BIND: the TDI is bound to the guest and CONFIG_LOCKED. */
export async function bound(w: SevWorld, gctx = GCTX, newGuest = true): Promise<Uint8Array> {
  if (newGuest) guest(w, gctx);
  await connected(w);
  const b = ok(
    await tioTdiBind(
      w.p,
      w.env,
      { dev: w.fn0, tdi: w.rid, gctx, guestDeviceId: GUEST_BDF },
      w.carrier,
    ),
  );
  return b.report ?? new Uint8Array();
}

/** ... + TIO_TDI_BIND(RUN_FORCE) + the guest's SDTE: the TDI is RUN with trusted DMA. */
export async function running(w: SevWorld, gctx = GCTX): Promise<void> {
  await bound(w, gctx);
  const a = { dev: w.fn0, tdi: w.rid, gctx, guestDeviceId: GUEST_BDF, run: true };
  ok(await tioTdiBind(w.p, w.env, a, w.carrier));
  const sdte = { v: true, ir: true, iw: true, vmpl: 0, vtomEn: true, vtom: 0x7fffffff };
  ok(tioMsgSdteWriteReq(w.p, w.env, { gctx, guestDeviceId: GUEST_BDF, sdte }));
}
