/**
 * The SEV-TIO host ABI against teeio's device (drivers/crypto/ccp/sev-dev-tio.c order):
 * guest contexts, TIO_DEV_*, TIO_TDI_* and the ASID fence commands, each success path and
 * each documented refusal, every refusal leaving the records as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asidFenced, fencedMmio } from '../../../src/platform/sev/fence.ts';
import {
  snpActivate,
  snpDecommission,
  snpGctxCreate,
  snpLaunchFinish,
  tioAsidFenceClear,
  tioAsidFenceStatus,
  tioDevConnect,
  tioDevCreate,
  tioDevDisconnect,
  tioDevReclaim,
  tioTdiBind,
  tioTdiCreate,
  tioTdiReclaim,
  tioTdiReport,
  tioTdiStatus,
  tioTdiUnbind,
  vmOfGctx,
} from '../../../src/platform/sev/host-abi.ts';
import { tdiRunning } from '../../../src/platform/tsm/state.ts';
import { bound, connected, guest, running } from './flow.ts';
import {
  ASID,
  ASID2,
  droppingCarrier,
  GCTX,
  GCTX2,
  GUEST_BDF,
  ok,
  refused,
  sevWorld,
} from './world.ts';

describe('SEV-TIO host ABI: guest contexts', () => {
  it('SNP_GCTX_CREATE, SNP_ACTIVATE, SNP_LAUNCH_FINISH, SNP_DECOMMISSION and their refusals', async () => {
    const { p, env } = await sevWorld('gctx');
    await refused(p, 'SEV_RET_INVALID_ADDRESS', () => snpGctxCreate(p, env, { gctx: 0x1001 }));
    ok(snpGctxCreate(p, env, { gctx: GCTX }));
    assert.ok(p.tsm.vms.has(vmOfGctx(GCTX)), 'the core has the VM');
    await refused(p, 'SEV_RET_IN_USE', () => snpGctxCreate(p, env, { gctx: GCTX }));
    await refused(p, 'SEV_RET_INVALID_GUEST_STATE', () => snpLaunchFinish(p, env, { gctx: GCTX }));
    await refused(p, 'SEV_RET_INVALID_GUEST', () => snpActivate(p, env, { gctx: GCTX2, asid: 1 }));
    await refused(p, 'SEV_RET_INVALID_ASID', () => snpActivate(p, env, { gctx: GCTX, asid: 0 }));
    ok(snpActivate(p, env, { gctx: GCTX, asid: ASID }));
    await refused(p, 'SEV_RET_INVALID_GUEST_STATE', () =>
      snpActivate(p, env, { gctx: GCTX, asid: ASID2 }),
    );
    ok(snpGctxCreate(p, env, { gctx: GCTX2 }));
    await refused(p, 'SEV_RET_ASID_OWNED', () => snpActivate(p, env, { gctx: GCTX2, asid: ASID }));
    ok(snpLaunchFinish(p, env, { gctx: GCTX }));
    assert.equal(p.tsm.vms.get(vmOfGctx(GCTX))?.finalized, true);
    ok(snpDecommission(p, env, { gctx: GCTX2 }));
    await refused(p, 'SEV_RET_INVALID_GUEST', () => snpDecommission(p, env, { gctx: GCTX2 }));
  });
});

describe('SEV-TIO host ABI: devices', () => {
  it('TIO_DEV_CREATE / CONNECT through the SPDM_REQUEST loop / DISCONNECT / RECLAIM', async () => {
    const w = await sevWorld('dev');
    const { p, env, fn0, carrier } = w;
    const conn = { dev: fn0, tcMask: 1, ideStreamIds: [0] };
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_DEV_CTX', () =>
      tioDevConnect(p, env, conn, carrier),
    );
    ok(tioDevCreate(p, env, { deviceId: fn0, rootPortId: 0, segmentId: 0 }));
    await refused(p, 'SEV_RET_IN_USE', () =>
      tioDevCreate(p, env, { deviceId: fn0, rootPortId: 0, segmentId: 0 }),
    );
    await refused(p, 'SEV_RET_INVALID_PARAM', () =>
      tioDevConnect(p, env, { ...conn, tcMask: 2 }, carrier),
    );
    await refused(p, 'SEV_RET_INVALID_PARAM', () =>
      tioDevConnect(p, env, { ...conn, certSlot: 3 }, carrier),
    );
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_DEV_STATE', () =>
      tioTdiCreate(p, env, { dev: fn0, tdi: w.rid }),
    );

    const c = await tioDevConnect(p, env, conn, carrier);
    ok(c);
    // Every DOE round trip of the connection is one SEV_RET_SPDM_REQUEST before the result.
    const loop = c.events.slice(0, -1);
    assert.ok(loop.length >= 8, `${loop.length} SPDM requests`);
    assert.ok(loop.every((e) => e.status === 'SEV_RET_SPDM_REQUEST' && e.domain === 'host'));
    assert.ok(loop.some((e) => e.args.dataType === 'DOBJ_DATA_TYPE_SPDM'));
    assert.ok(loop.some((e) => e.args.dataType === 'DOBJ_DATA_TYPE_SECURE_SPDM'));
    assert.equal(c.events.at(-1)?.status, 'SEV_RET_SUCCESS');
    assert.equal(p.tsm.devices.get(fn0)?.stream?.state, 'secure');
    assert.deepEqual(p.vendor.devs.get(fn0)?.ideStreamIds, [0]);
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_DEV_STATE', () =>
      tioDevConnect(p, env, conn, carrier),
    );
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_DEV_STATE', () =>
      tioDevReclaim(p, env, { dev: fn0 }),
    );

    ok(tioTdiCreate(p, env, { dev: fn0, tdi: w.rid }));
    await refused(p, 'SEV_RET_IN_USE', () => tioTdiCreate(p, env, { dev: fn0, tdi: w.rid }));
    ok(await tioDevDisconnect(p, env, { dev: fn0 }, carrier));
    assert.equal(p.tsm.devices.get(fn0)?.phase, 'disconnected');
    await refused(p, 'SEV_RET_IN_USE', () => tioDevReclaim(p, env, { dev: fn0 }));
    ok(tioTdiReclaim(p, env, { dev: fn0, tdi: w.rid }));
    ok(tioDevReclaim(p, env, { dev: fn0 }));
    assert.equal(p.vendor.devs.size, 0);
    assert.equal(p.tsm.devices.size, 0);
  });

  it('TIO_DEV_DISCONNECT is refused while a TDI is bound; FORCE sends nothing', async () => {
    const w = await sevWorld('disconnect');
    await bound(w);
    const { p, env, fn0, carrier } = w;
    await refused(p, 'SEV_RET_IN_USE', () => tioDevDisconnect(p, env, { dev: fn0 }, carrier));
    await refused(p, 'SEV_RET_IN_USE', () =>
      tioDevDisconnect(p, env, { dev: fn0, force: true }, carrier),
    );
    ok(await tioTdiUnbind(p, env, { dev: fn0, tdi: w.rid, gctx: GCTX }, carrier));
    let carried = 0;
    const counting = {
      ...carrier,
      exchange: (...a: Parameters<typeof carrier.exchange>) => {
        carried++;
        return carrier.exchange(...a);
      },
    };
    const d = await tioDevDisconnect(p, env, { dev: fn0, force: true }, counting);
    ok(d);
    assert.equal(carried, 0, 'a forced disconnect carries no SPDM');
    assert.equal(d.events.length, 1);
    assert.equal(p.tsm.devices.get(fn0)?.phase, 'disconnected');
  });
});

describe('SEV-TIO host ABI: TDI_BIND', () => {
  it('binds to the guest context under its BDF and LOCKs in the same call', async () => {
    const w = await sevWorld('bind');
    const report = await bound(w);
    const rec = w.p.tsm.tdis.get(w.rid);
    assert.equal(rec?.state, 'CONFIG_LOCKED');
    assert.equal(rec?.vm, vmOfGctx(GCTX));
    assert.deepEqual(rec?.report?.bytes, report, 'the output buffer holds the interface report');
    assert.ok(report.length > 16);
    const ctx = w.p.vendor.tdis.get(w.rid);
    assert.equal(ctx?.gctx, GCTX);
    assert.equal(ctx?.guestDeviceId, GUEST_BDF);
    const st = ok(await tioTdiStatus(w.p, w.env, { dev: w.fn0, tdi: w.rid }, w.carrier));
    assert.deepEqual(st, { tdispState: 1, name: 'CONFIG_LOCKED' });
    const again = ok(
      await tioTdiReport(w.p, w.env, { dev: w.fn0, tdi: w.rid, gctx: GCTX }, w.carrier),
    );
    assert.deepEqual(again.report, report);
  });

  it('TDI_BIND without a guest context, or with one that has no ASID, is refused', async () => {
    const w = await sevWorld('bind no guest');
    await connected(w);
    const { p, env, fn0, rid, carrier } = w;
    const a = { dev: fn0, tdi: rid, gctx: GCTX, guestDeviceId: GUEST_BDF };
    await refused(p, 'SEV_RET_INVALID_GUEST', () => tioTdiBind(p, env, a, carrier));
    ok(snpGctxCreate(p, env, { gctx: GCTX }));
    await refused(p, 'SEV_RET_INACTIVE', () => tioTdiBind(p, env, a, carrier));
    assert.equal(p.tsm.tdis.get(rid)?.state, 'CONFIG_UNLOCKED');
  });

  it('TDI_BIND on a TDI of a disconnected device is refused', async () => {
    const w = await sevWorld('bind disconnected');
    guest(w);
    await connected(w);
    const { p, env, fn0, rid, carrier } = w;
    ok(await tioDevDisconnect(p, env, { dev: fn0 }, carrier));
    const a = { dev: fn0, tdi: rid, gctx: GCTX, guestDeviceId: GUEST_BDF };
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_DEV_STATE', () => tioTdiBind(p, env, a, carrier));
  });

  it('refuses a second bind, a clashing guest BDF, an unknown TDI and RUN before the bind', async () => {
    const w = await sevWorld('bind refusals');
    guest(w);
    guest(w, GCTX2, ASID2);
    await connected(w);
    const { p, env, fn0, rid, carrier } = w;
    const a = { dev: fn0, tdi: rid, gctx: GCTX, guestDeviceId: GUEST_BDF };
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE', () =>
      tioTdiBind(p, env, { ...a, run: true }, carrier),
    );
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_TDI_CTX', () =>
      tioTdiBind(p, env, { ...a, tdi: rid + 1 }, carrier),
    );
    await refused(p, 'SEV_RET_INVALID_PARAM', () =>
      tioTdiBind(p, env, { ...a, guestDeviceId: 0x10000 }, carrier),
    );
    ok(await tioTdiBind(p, env, a, carrier));
    await refused(p, 'SEV_RET_IN_USE', () => tioTdiBind(p, env, { ...a, gctx: GCTX2 }, carrier));
    await refused(p, 'SEV_RET_IN_USE', () => tioTdiBind(p, env, a, carrier));
    await refused(p, 'SEV_RET_INVALID_GUEST', () =>
      tioTdiBind(p, env, { ...a, gctx: GCTX2, run: true }, carrier),
    );
    await refused(p, 'SEV_RET_INVALID_PARAM', () =>
      tioTdiBind(p, env, { ...a, guestDeviceId: 0x20, run: true }, carrier),
    );
    await refused(p, 'SEV_RET_IN_USE', () => tioTdiReclaim(p, env, { dev: fn0, tdi: rid }));
    await refused(p, 'SEV_RET_IN_USE', () => snpDecommission(p, env, { gctx: GCTX }));
  });

  it('a LOCK the device does not answer leaves nothing bound', async () => {
    const w = await sevWorld('bind dropped');
    guest(w);
    await connected(w);
    const { p, env, fn0, rid, carrier } = w;
    const a = { dev: fn0, tdi: rid, gctx: GCTX, guestDeviceId: GUEST_BDF };
    await refused(p, 'SEV_RET_SPDM_ERROR', () =>
      tioTdiBind(p, env, a, droppingCarrier(carrier.binding)),
    );
    assert.equal(p.tsm.tdis.get(rid)?.vm, undefined);
  });

  it('TIO_TDI_BIND with TIO_TDI_BIND_RUN_FORCE moves the bound TDI to RUN', async () => {
    const w = await sevWorld('bind run');
    await bound(w);
    assert.equal(tdiRunning(w.p.tsm, w.rid), false);
    const a = { dev: w.fn0, tdi: w.rid, gctx: GCTX, guestDeviceId: GUEST_BDF, run: true };
    ok(await tioTdiBind(w.p, w.env, a, w.carrier));
    assert.equal(tdiRunning(w.p.tsm, w.rid), true);
    const st = ok(await tioTdiStatus(w.p, w.env, { dev: w.fn0, tdi: w.rid }, w.carrier));
    assert.equal(st.tdispState, 2);
    await refused(w.p, 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE', () =>
      tioTdiBind(w.p, w.env, a, w.carrier),
    );
  });
});

describe('SEV-TIO host ABI: TDI_UNBIND and the ASID fence', () => {
  it('unbind of a CONFIG_LOCKED TDI: CONFIG_UNLOCKED, nothing of the binding left, no fence', async () => {
    const w = await sevWorld('unbind locked');
    await bound(w);
    const { p, env, fn0, rid, carrier } = w;
    await refused(p, 'SEV_RET_INVALID_GUEST', () =>
      tioTdiUnbind(p, env, { dev: fn0, tdi: rid, gctx: GCTX2 }, carrier),
    );
    const u = ok(await tioTdiUnbind(p, env, { dev: fn0, tdi: rid, gctx: GCTX }, carrier));
    assert.equal(u.fenced, false);
    const rec = p.tsm.tdis.get(rid);
    assert.equal(rec?.vm, undefined);
    assert.equal(rec?.nonce, undefined);
    assert.equal(rec?.report, undefined);
    assert.equal(p.vendor.tdis.get(rid)?.guestDeviceId, undefined);
    const st = ok(await tioTdiStatus(p, env, { dev: fn0, tdi: rid }, carrier));
    assert.deepEqual(st, { tdispState: 0, name: 'CONFIG_UNLOCKED' });
    assert.equal(asidFenced(p, vmOfGctx(GCTX)), false);
    await refused(p, 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE', () =>
      tioTdiUnbind(p, env, { dev: fn0, tdi: rid, gctx: GCTX }, carrier),
    );
    ok(tioTdiReclaim(p, env, { dev: fn0, tdi: rid }));
  });

  it('TDI_UNBIND without FORCE while RUN is refused; with FORCE it unbinds and fences the ASID', async () => {
    const w = await sevWorld('unbind run');
    await running(w);
    const { p, env, fn0, rid, carrier } = w;
    const a = { dev: fn0, tdi: rid, gctx: GCTX };
    await refused(p, 'SEV_RET_IN_USE', () => tioTdiUnbind(p, env, a, carrier));
    assert.equal(tdiRunning(p.tsm, rid), true);

    const u = ok(await tioTdiUnbind(p, env, { ...a, force: true }, carrier));
    assert.equal(u.fenced, true);
    assert.equal(tdiRunning(p.tsm, rid), false);
    assert.equal(p.vendor.tdis.get(rid)?.sdte, undefined, 'the sDTE is gone');
    const st = ok(await tioTdiStatus(p, env, { dev: fn0, tdi: rid }, carrier));
    assert.equal(st.name, 'CONFIG_UNLOCKED');

    // Linux's tdi_unbind: reclaim, read the fence, clear it.
    ok(tioTdiReclaim(p, env, { dev: fn0, tdi: rid }));
    const vm = vmOfGctx(GCTX);
    assert.equal(asidFenced(p, vm), true);
    const fs = ok(tioAsidFenceStatus(p, env, { dev: fn0, asid: ASID }));
    // DMA ERROR_FENCED (1) in bits 1:0, MMIO FENCED (3) in bits 3:2.
    assert.deepEqual(fs, { status: 0b1101, fenced: true });
    assert.deepEqual(fencedMmio(p, vm, 'write', 4), { kind: 'write', dropped: true });
    assert.deepEqual(fencedMmio(p, vm, 'read', 4), {
      kind: 'read',
      data: Uint8Array.of(0xff, 0xff, 0xff, 0xff),
    });
    await refused(p, 'SEV_RET_INVALID_ASID', () =>
      tioAsidFenceStatus(p, env, { dev: fn0, asid: 77 }),
    );
    await refused(p, 'SEV_RET_INVALID_GUEST', () =>
      tioAsidFenceClear(p, env, { dev: fn0, gctx: GCTX2 }),
    );
    ok(tioAsidFenceClear(p, env, { dev: fn0, gctx: GCTX }));
    assert.equal(asidFenced(p, vm), false);
    assert.equal(fencedMmio(p, vm, 'read', 4), undefined, 'reads take their normal path again');
    assert.deepEqual(ok(tioAsidFenceStatus(p, env, { dev: fn0, asid: ASID })), {
      status: 0,
      fenced: false,
    });
  });

  it('a forced unbind still unbinds when the device does not answer STOP or the session is gone', async () => {
    const w = await sevWorld('unbind silent');
    await bound(w);
    const { p, env, fn0, rid, carrier } = w;
    const a = { dev: fn0, tdi: rid, gctx: GCTX };
    const silent = droppingCarrier(carrier.binding);
    await refused(p, 'SEV_RET_SPDM_ERROR', () => tioTdiUnbind(p, env, a, silent));
    // The requester dropped the session whose messages failed: no TDISP request can go.
    await refused(p, 'SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN', () =>
      tioTdiStatus(p, env, { dev: fn0, tdi: rid }, carrier),
    );
    ok(await tioTdiUnbind(p, env, { ...a, force: true }, silent));
    assert.equal(p.tsm.tdis.get(rid)?.vm, undefined);
    assert.equal(asidFenced(p, vmOfGctx(GCTX)), false, 'a LOCKED TDI was not in use');
    // The device context too: only FORCE disconnects a device whose session is gone.
    await refused(p, 'SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN', () =>
      tioDevDisconnect(p, env, { dev: fn0 }, carrier),
    );
    ok(await tioDevDisconnect(p, env, { dev: fn0, force: true }, carrier));
    assert.equal(p.tsm.devices.get(fn0)?.phase, 'disconnected');
  });
});
