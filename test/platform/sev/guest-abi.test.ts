/**
 * The SEV-TIO guest ABI (TIO_MSG_TDI_INFO_REQ, TIO_MSG_SDTE_WRITE_REQ) and the host's relay
 * TIO_GUEST_REQUEST, which moves a CONFIG_LOCKED TDI to RUN on the guest's first use of it
 * (sev-dev-tsm.c guest_request -> tdi_run); and a TDI from connect to RUN and back using
 * only the flavour's ABI tables, by real name.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { tioMsgSdteWriteReq, tioMsgTdiInfoReq } from '../../../src/platform/sev/guest-abi.ts';
import { tioGuestRequest, vmOfGctx } from '../../../src/platform/sev/host-abi.ts';
import {
  asidFenced,
  SEV_GUEST_ABI,
  SEV_HOST_ABI,
  sevFlavour,
} from '../../../src/platform/sev/index.ts';
import type { SdteFields } from '../../../src/platform/sev/state.ts';
import { tdiRunning } from '../../../src/platform/tsm/state.ts';
import { bound, guest, running, sealAs } from './flow.ts';
import {
  ASID2,
  droppingCarrier,
  GCTX,
  GCTX2,
  GUEST_BDF,
  ok,
  refused,
  type SevWorld,
  sevWorld,
} from './world.ts';

const SDTE: SdteFields = { v: true, ir: true, iw: true, vmpl: 0, vtomEn: true, vtom: 0x7fffffff };
const sha384 = (b: Uint8Array) => new Uint8Array(createHash('sha384').update(b).digest());

describe('SEV-TIO guest ABI', () => {
  it('TIO_MSG_TDI_INFO_REQ: state, digests and the report the bind fetched', async () => {
    const w = await sevWorld('tdi info');
    const report = await bound(w);
    const info = ok(
      await tioMsgTdiInfoReq(w.p, w.env, { gctx: GCTX, guestDeviceId: GUEST_BDF }, w.carrier),
    );
    assert.equal(info.state, 'CONFIG_LOCKED');
    assert.equal(info.tdispState, 1);
    assert.deepEqual(info.report, report);
    assert.deepEqual(info.interfaceReportDigest, sha384(report));
    // The chain digest: SHA-384 over the device's certificate chain as served in slot 0.
    assert.equal(info.certsDigest.length, 48);
    assert.deepEqual(info.certsDigest, w.p.tsm.devices.get(w.fn0)?.link?.chainDigest);
    const last = (
      await tioMsgTdiInfoReq(w.p, w.env, { gctx: GCTX, guestDeviceId: GUEST_BDF }, w.carrier)
    ).events.at(-1);
    assert.equal(last?.domain, 'guest');
    assert.equal(last?.status, 'TDI_INFO_SUCCESS');
  });

  it('a guest names only its own TDIs: another BDF is INVALID_TDI, another guest gets NOT_BOUND', async () => {
    const w = await sevWorld('guest ids');
    await bound(w);
    guest(w, GCTX2, ASID2);
    const { p, env, carrier } = w;
    await refused(p, 'TDI_INFO_INVALID_TDI', () =>
      tioMsgTdiInfoReq(p, env, { gctx: GCTX, guestDeviceId: 0x20 }, carrier),
    );
    await refused(p, 'TDI_INFO_TDI_NOT_BOUND', () =>
      tioMsgTdiInfoReq(p, env, { gctx: GCTX2, guestDeviceId: GUEST_BDF }, carrier),
    );
    await refused(p, 'SDTE_WRITE_INVALID_TDI', () =>
      tioMsgSdteWriteReq(p, env, { gctx: GCTX, guestDeviceId: 0x20, sdte: SDTE }),
    );
    await refused(p, 'SDTE_WRITE_TDI_NOT_BOUND', () =>
      tioMsgSdteWriteReq(p, env, { gctx: GCTX2, guestDeviceId: GUEST_BDF, sdte: SDTE }),
    );
    await refused(p, 'SDTE_WRITE_RESERVED', () =>
      tioMsgSdteWriteReq(p, env, {
        gctx: GCTX,
        guestDeviceId: GUEST_BDF,
        sdte: { ...SDTE, vmpl: 4 },
      }),
    );
  });

  it('TIO_MSG_SDTE_WRITE_REQ: V=1 enables trusted DMA, an all-zero entry disables it', async () => {
    const w = await sevWorld('sdte');
    await running(w);
    assert.equal(w.p.vendor.tdis.get(w.rid)?.sdte?.v, true);
    const zero: SdteFields = { v: false, ir: false, iw: false, vmpl: 0, vtomEn: false, vtom: 0 };
    ok(tioMsgSdteWriteReq(w.p, w.env, { gctx: GCTX, guestDeviceId: GUEST_BDF, sdte: zero }));
    assert.equal(w.p.vendor.tdis.get(w.rid)?.sdte?.v, false);
  });

  it('TIO_GUEST_REQUEST relays SDTE_WRITE for a CONFIG_LOCKED TDI after TDI_BIND(RUN_FORCE)', async () => {
    const w = await sevWorld('relay run');
    await bound(w);
    const { p, env, fn0, rid, carrier } = w;
    assert.equal(tdiRunning(p.tsm, rid), false);
    const message = {
      type: 'TIO_MSG_SDTE_WRITE_REQ' as const,
      args: { gctx: GCTX, guestDeviceId: GUEST_BDF, sdte: SDTE },
    };
    const seal = sealAs(p, message);
    const r = await tioGuestRequest(
      p,
      env,
      { dev: fn0, tdi: rid, gctx: GCTX, message, seal },
      carrier,
    );
    const reply = ok(r);
    assert.equal(reply.status, 'SDTE_WRITE_SUCCESS');
    assert.equal(tdiRunning(p.tsm, rid), true);
    const calls = r.events.filter((e) => e.status !== 'SEV_RET_SPDM_REQUEST').map((e) => e.call);
    assert.deepEqual(calls, [
      'TIO_TDI_STATUS',
      'TIO_TDI_BIND',
      'TIO_MSG_SDTE_WRITE_REQ',
      'TIO_GUEST_REQUEST',
    ]);
    // A message sealed by another guest does not open under this context.
    guest(w, GCTX2, ASID2);
    const other = { ...message, args: { ...message.args, gctx: GCTX2 } };
    await refused(p, 'SEV_RET_INVALID_PARAM', () =>
      tioGuestRequest(p, env, { dev: fn0, tdi: rid, gctx: GCTX, message: other }, carrier),
    );
    // TDI_INFO is relayed as it is, without a state change.
    const infoMsg = {
      type: 'TIO_MSG_TDI_INFO_REQ' as const,
      args: { gctx: GCTX, guestDeviceId: GUEST_BDF },
    };
    const info = ok(
      await tioGuestRequest(
        p,
        env,
        {
          dev: fn0,
          tdi: rid,
          gctx: GCTX,
          message: infoMsg,
          seal: sealAs(p, infoMsg),
        },
        droppingCarrier(carrier.binding),
      ),
    );
    assert.equal(info.status, 'SEV_RET_SPDM_ERROR', 'the guest learns the device did not answer');
  });
});

/** Calls a host or guest ABI entry by its real name. */
async function call(
  w: SevWorld,
  table: typeof SEV_HOST_ABI,
  name: string,
  args: object,
): Promise<unknown> {
  const f = table[name];
  assert.ok(f, name);
  return ok(await f(w.p, w.env, args as never, w.carrier), name);
}

describe('SEV-TIO: a TDI from connect to RUN and back, by the ABI tables only', () => {
  it('SNP guest, TIO_DEV_*, TIO_TDI_BIND, guest attest and accept, RUN, unbind, reclaim', async () => {
    const w = await sevWorld('lifecycle');
    assert.equal(sevFlavour.name, 'sev');
    w.p.vendor = sevFlavour.create();
    const host = (n: string, a: object) => call(w, SEV_HOST_ABI, n, a);
    const guestCall = (n: string, a: object) => call(w, SEV_GUEST_ABI, n, a);
    const dev = w.fn0;
    const tdi = w.rid;

    await host('SNP_GCTX_CREATE', { gctx: GCTX });
    await host('SNP_ACTIVATE', { gctx: GCTX, asid: 9 });
    await host('SNP_LAUNCH_FINISH', { gctx: GCTX });
    await host('TIO_DEV_CREATE', { deviceId: dev, rootPortId: 0, segmentId: 0 });
    await host('TIO_DEV_CONNECT', { dev, tcMask: 1, ideStreamIds: [0] });
    await host('TIO_TDI_CREATE', { dev, tdi });
    await host('TIO_TDI_BIND', { dev, tdi, gctx: GCTX, guestDeviceId: GUEST_BDF });

    // The guest attests: state CONFIG_LOCKED, the report's digest.
    const g = { gctx: GCTX, guestDeviceId: GUEST_BDF };
    const info = (await guestCall('TIO_MSG_TDI_INFO_REQ', g)) as { state: string };
    assert.equal(info.state, 'CONFIG_LOCKED');
    // The guest accepts: its SDTE_WRITE, relayed, takes the TDI to RUN first.
    const sdteMsg = { type: 'TIO_MSG_SDTE_WRITE_REQ' as const, args: { ...g, sdte: SDTE } };
    await host('TIO_GUEST_REQUEST', {
      dev,
      tdi,
      gctx: GCTX,
      message: sdteMsg,
      seal: sealAs(w.p, sdteMsg),
    });
    const run = (await guestCall('TIO_MSG_TDI_INFO_REQ', g)) as { state: string };
    assert.equal(run.state, 'RUN');
    assert.equal(tdiRunning(w.p.tsm, tdi), true);

    // Back: the guest disables DMA, the host unbinds (the TDI is RUN: FORCE), reads the
    // state, reclaims, reads and clears the fence (sev-dev-tsm.c tdi_unbind).
    await guestCall('TIO_MSG_SDTE_WRITE_REQ', {
      ...g,
      sdte: { v: false, ir: false, iw: false, vmpl: 0, vtomEn: false, vtom: 0 },
    });
    await host('TIO_TDI_UNBIND', { dev, tdi, gctx: GCTX, force: true });
    const st = (await host('TIO_TDI_STATUS', { dev, tdi })) as { name: string };
    assert.equal(st.name, 'CONFIG_UNLOCKED');
    await host('TIO_TDI_RECLAIM', { dev, tdi });
    const fence = (await host('TIO_ASID_FENCE_STATUS', { dev, asid: 9 })) as { fenced: boolean };
    assert.equal(fence.fenced, true);
    await host('TIO_ASID_FENCE_CLEAR', { dev, gctx: GCTX });
    assert.equal(asidFenced(w.p, vmOfGctx(GCTX)), false);
    await host('TIO_DEV_DISCONNECT', { dev });
    await host('TIO_DEV_RECLAIM', { dev });
    await host('SNP_DECOMMISSION', { gctx: GCTX });
    assert.equal(w.p.tsm.tdis.size + w.p.tsm.devices.size + w.p.tsm.vms.size, 0);
    assert.equal(w.p.vendor.tdis.size + w.p.vendor.devs.size + w.p.vendor.guests.size, 0);
  });
});
