/**
 * Design question 9 (switch droppedDma, platform/tsm/dma-fault.ts), per flavour, through a
 * world whose guest userspace has a running TDI and a DMA buffer (role vfio-user):
 *
 * - 'report': a refused T=1 DMA of the running TDI reaches the TSM as its flavour's fault
 *   record (DMAR_FAULT, IO_PAGE_FAULT, F_TRANSLATION), which holds the TDI in ERROR and keeps
 *   why; the guest's next state read (TDG.DEVIF.RD, TIO_MSG_TDI_INFO_REQ, RSI_VDEV_GET_INFO)
 *   answers ERROR while the device itself still says RUN, and the guest's T=1 MMIO stops;
 * - 'silent': the same drop changes nothing but the fabric's own event;
 * - a refused T=1 request of a TDI not in RUN (CONFIG_LOCKED, or ERROR already), a T=0 one
 *   and a completed one change nothing;
 * - a snapshot carries the fault record, a restore brings the earlier records back and the
 *   IOMMU reports into the restored ones, and STOP (the guest's unlock) clears it.
 *
 * The drop itself is the IOMMU refusing the trusted context (blocked behind the TSM's back):
 * what the host can do to cause one differs per flavour and is the explorer's to find.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DmaFaultName,
  platformEventDomain,
  type TransactionEvent,
} from '../../src/platform/events.ts';
import { FLAVOURS, type FlavourName } from '../../src/platform/flavours.ts';
import { secureDmaBlock } from '../../src/platform/iommu-secure.ts';
import type { Platform } from '../../src/platform/platform.ts';
import type { DmaFault } from '../../src/platform/tsm/dma-fault.ts';
import { tsmTdiState } from '../../src/platform/tsm/tdi.ts';
import type { StepEvent } from '../../src/world/invariants.ts';
import { World } from '../../src/world/world.ts';
import { vfioUserThrough } from '../support/vfio-user.ts';

const FN = 1;
const IOVA = 0x8000n;
const FAULT: Record<FlavourName, DmaFaultName> = {
  tdx: 'DMAR_FAULT',
  sev: 'IO_PAGE_FAULT',
  cca: 'F_TRANSLATION',
};
/** The vfio-user role's lifecycle up to userspace's DMA buffer (docs/roles.md). */
const TO_RUN = vfioUserThrough('guest.userspace/map');

async function world(flavour: FlavourName, droppedDma: 'silent' | 'report', upTo = TO_RUN) {
  const w = await World.create({
    flavour,
    seed: `dropped-dma ${flavour}`,
    switches: { droppedDma },
    vms: [{ name: 'vm1', devices: [{ tdi: FN, role: 'vfio-user' }] }],
  });
  for (const step of upTo) {
    const r = await w.perform({ do: step });
    assert.equal(r.ok, true, `${flavour} ${step}: ${r.detail ?? ''}`);
  }
  return w;
}

const rid = (w: World) => w.rid(FN);
const tdi = (w: World) => w.pw.p.tsm.tdis.get(rid(w));
const faults = (events: readonly StepEvent[]) => events.filter((e) => e.kind === 'dma-fault');

/** The IOMMU refuses the TDI's trusted context, then the device's DMA into the buffer. */
async function drop(w: World) {
  secureDmaBlock(w.pw.p.hw.iommu, rid(w));
  return w.perform({ do: 'guest.userspace/dma', args: { value: 0x3c } });
}

/** The TDI's state as the guest's next read answers it, by its flavour's guest ABI. */
async function guestReads(w: World): Promise<string> {
  const p = w.pw.p as Platform<never>;
  const firmwareVm = w.vms.get('vm1')?.firmwareVm ?? '';
  const carrier = w.pw.carriers.get(w.pw.dev.device.requesterId(0));
  if (w.flavour === 'tdx') {
    const o = FLAVOURS.tdx.guest['TDG.DEVIF.RD'](p, w.pw.env, {
      td: firmwareVm,
      functionId: rid(w),
    } as never) as { value?: { state: string; valid: boolean } };
    assert.equal(o.value?.valid, o.value?.state !== 'ERROR', 'the DEVIF is invalid in ERROR');
    return o.value?.state ?? 'none';
  }
  if (w.flavour === 'sev') {
    const t = (p.vendor as { tdis: Map<number, { gctx?: bigint; guestDeviceId?: number }> }).tdis;
    const ctx = t.get(rid(w));
    const o = (await FLAVOURS.sev.guest.TIO_MSG_TDI_INFO_REQ(
      p,
      w.pw.env,
      { gctx: ctx?.gctx, guestDeviceId: ctx?.guestDeviceId } as never,
      carrier as never,
    )) as { value?: { state: string } };
    return o.value?.state ?? 'none';
  }
  const v = (p.vendor as { vdevs: Map<number, { vdevId: bigint }> }).vdevs.get(rid(w));
  const o = FLAVOURS.cca.guest.RSI_VDEV_GET_INFO(p, w.pw.env, {
    realm: firmwareVm,
    vdevId: v?.vdevId,
  } as never) as { value?: { state: string; dmaEnabled: boolean } };
  if (o.value?.state === 'RSI_VDEV_ERROR') assert.equal(o.value.dmaEnabled, false);
  return o.value?.state ?? 'none';
}

const RUN_READ: Record<FlavourName, string> = { tdx: 'RUN', sev: 'RUN', cca: 'RSI_VDEV_STARTED' };
const ERROR_READ: Record<FlavourName, string> = {
  tdx: 'ERROR',
  sev: 'ERROR',
  cca: 'RSI_VDEV_ERROR',
};

/** A refused T=1 MemWr of the TDI as the fabric reports it. */
const refusedDma = (r: number, over: Partial<TransactionEvent> = {}): TransactionEvent => ({
  kind: 'transaction',
  domain: 'device',
  request: 'MemWr',
  t: true,
  address: IOVA,
  length: 8,
  rid: r,
  verdict: 'UR',
  reason: 'secure-dma-blocked',
  ...over,
});

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`dropped T=1 DMA on ${flavour}`, () => {
    it("'report': the TSM takes the running TDI to ERROR, keeps why, and the guest reads ERROR", async () => {
      const w = await world(flavour, 'report');
      assert.equal(await guestReads(w), RUN_READ[flavour]);
      const r = await drop(w);
      assert.equal(r.ok, false, 'the data did not land');
      const f = faults(r.events);
      assert.equal(f.length, 1);
      assert.deepEqual(
        { ...f[0] },
        {
          kind: 'dma-fault',
          op: FAULT[flavour],
          rid: rid(w),
          vm: tdi(w)?.vm,
          request: 'MemWr',
          address: IOVA,
          reason: 'secure-dma-blocked',
          tdiState: 'ERROR',
        },
      );
      assert.equal(tdi(w)?.state, 'ERROR');
      assert.deepEqual(tdi(w)?.dmaFault, {
        op: FAULT[flavour],
        request: 'MemWr',
        address: IOVA,
        reason: 'secure-dma-blocked',
      } satisfies DmaFault);
      // The device never saw the drop: it still runs, and the TSM does not believe it.
      assert.equal(w.pw.dev.dsm.tdiState(FN), 'RUN');
      assert.equal(await guestReads(w), ERROR_READ[flavour]);
      const carrier = w.pw.carriers.get(w.pw.dev.device.requesterId(0));
      const s = await tsmTdiState(w.pw.p, w.pw.env, rid(w), carrier as never);
      assert.deepEqual(s, { ok: true, value: 'ERROR' }, 'GET_DEVICE_INTERFACE_STATE keeps ERROR');
      // No T=1 traffic of the TDI any more: the guest's MMIO faults.
      const m = await w.perform({ do: 'guest.userspace/mmio-read' });
      assert.equal(m.ok, false);
      const t1 = m.events.filter((e) => e.kind === 'transaction' && e.domain === 'guest');
      assert.deepEqual(
        t1.map((e) => (e as TransactionEvent).reason),
        ['tdi-not-run'],
      );
    });

    it("'silent': the same drop leaves the TDI in RUN and reports nothing", async () => {
      const w = await world(flavour, 'silent');
      const r = await drop(w);
      assert.equal(r.ok, false, 'the data did not land');
      const refused = r.events.filter(
        (e) => e.kind === 'transaction' && (e as TransactionEvent).t && e.verdict !== 'SC',
      );
      assert.equal(refused.length, 1, 'the fabric says why it dropped it');
      assert.deepEqual(faults(r.events), []);
      assert.equal(tdi(w)?.state, 'RUN');
      assert.equal(tdi(w)?.dmaFault, undefined);
      assert.equal(await guestReads(w), RUN_READ[flavour]);
    });

    it('a refused DMA of a TDI not in RUN, a T=0 one or a completed one changes nothing', async () => {
      const w = await world(flavour, 'report', TO_RUN.slice(0, 4));
      const fault = FLAVOURS[flavour].dmaFault as (
        p: Platform<never>,
        ev: TransactionEvent,
        running: (r: number) => boolean,
      ) => { result: boolean; events: unknown[] };
      const p = w.pw.p as Platform<never>;
      const before = structuredClone(w.pw.p.tsm);
      assert.equal(tdi(w)?.state, 'CONFIG_LOCKED');
      for (const ev of [
        refusedDma(rid(w), { reason: 'tdi-not-run', verdict: 'CA' }),
        refusedDma(rid(w)),
      ]) {
        assert.deepEqual(fault(p, ev, w.pw.views.tdiRunning), { result: false, events: [] });
      }
      assert.deepEqual(w.pw.p.tsm, before);
      // In RUN: T=0, completed and the host's own refused accesses are not the TSM's.
      const r = await world(flavour, 'report');
      const pr = r.pw.p as Platform<never>;
      for (const ev of [
        refusedDma(rid(r), { t: false, reason: 'iommu-not-mapped' }),
        refusedDma(rid(r), { verdict: 'SC', reason: undefined }),
        refusedDma(rid(r), { domain: 'guest' }),
      ]) {
        assert.deepEqual(fault(pr, ev, r.pw.views.tdiRunning), { result: false, events: [] });
      }
      assert.equal(tdi(r)?.state, 'RUN');
      // A TDI in ERROR already: the first fault stays the reason, nothing new is reported.
      await drop(r);
      const first = structuredClone(tdi(r)?.dmaFault);
      const again = await r.perform({ do: 'guest.userspace/dma' });
      assert.deepEqual(faults(again.events), []);
      assert.deepEqual(tdi(r)?.dmaFault, first);
    });

    it('a snapshot carries the fault; restore brings back the running TDI; STOP clears it', async () => {
      const w = await world(flavour, 'report');
      const pre = w.snapshot();
      await drop(w);
      const post = w.snapshot();
      assert.equal(post.platform.p.tsm.tdis.get(rid(w))?.dmaFault?.reason, 'secure-dma-blocked');
      w.restore(pre);
      assert.equal(tdi(w)?.state, 'RUN');
      assert.equal(tdi(w)?.dmaFault, undefined);
      w.restore(post);
      assert.equal(tdi(w)?.state, 'ERROR');
      assert.equal(tdi(w)?.dmaFault?.op, FAULT[flavour]);
      // The IOMMU reports into the records restored, not the ones it was built with.
      w.restore(pre);
      const r = await drop(w);
      assert.equal(faults(r.events).length, 1);
      assert.equal(tdi(w)?.state, 'ERROR');
      // The guest lets the device go: STOP_INTERFACE takes it out of ERROR, the fault goes.
      for (const step of ['guest.vfio/close', 'guest.vfio/unbind', 'guest.tsm/unlock']) {
        const o = await w.perform({ do: step });
        assert.equal(o.ok, true, `${step}: ${o.detail ?? ''}`);
      }
      assert.equal(w.pw.dev.dsm.tdiState(FN), 'CONFIG_UNLOCKED');
      assert.equal(tdi(w)?.dmaFault, undefined);
      assert.notEqual(tdi(w)?.state, 'ERROR');
    });
  });
}

describe('the fault records in the trace', () => {
  it('belong to the TSM', () => {
    for (const op of Object.values(FAULT)) {
      const e = {
        kind: 'dma-fault',
        op,
        rid: 1,
        vm: 'vm',
        request: 'MemWr',
        address: 0n,
        reason: 'secure-dma-blocked',
        tdiState: 'ERROR',
      } as const;
      assert.equal(platformEventDomain(e as never), 'tsm');
    }
  });
});
