/**
 * A TDI from connect to RUN and back through the TDX flavour's ABI tables only (calls by
 * their leaf names, as a scenario makes them), in SYSTEM.md section 4's order: connect, bind
 * (DEVIF.CREATE, the TD's TDG.DEVIF.VALIDATE, MMIOMT), LOCK, the TD's attestation (report),
 * MMIO map + accept, DMA add + accept, START; then TDX's unbind: STOP, DMAR block/remove, MMIO block/track/unmap,
 * DEVIF.REMOVE, and the device's teardown. Every call leaves its event, host or guest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AbiArg, AbiEvent } from '../../../src/platform/abi.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { pfnCount } from '../../../src/platform/pfn-table.ts';
import { tdxFlavour as tdx } from '../../../src/platform/tdx/index.ts';
import { devInfoHash, STREAM, TD, tdxWorld } from './world.ts';

describe('TDX: connect to RUN and back through the ABI tables', () => {
  it('runs the whole life cycle by leaf name and leaves nothing behind', async () => {
    const w = await tdxWorld('tdx lifecycle');
    const { p, env, carrier, device, functionId } = w;
    const trace: AbiEvent[] = [];
    const call = async (domain: 'host' | 'guest', name: string, args: Record<string, AbiArg>) => {
      const table = domain === 'host' ? tdx.host : tdx.guest;
      const f = table[name];
      assert.ok(f, `${name} is in the ${domain} table`);
      const o = await f(p, env, args, carrier);
      trace.push(...o.events);
      assert.equal(o.status, 'TDX_SUCCESS', `${name}: ${o.detail}`);
      return o.value as Record<string, unknown> | undefined;
    };
    const host = (name: string, args: Record<string, AbiArg>) => call('host', name, args);
    const td = (name: string, args: Record<string, AbiArg>) =>
      call('guest', name, { td: TD, functionId, ...args });
    const hostTdisp = async (request: string) => {
      await host('TDH.DEVIF.REQUEST', { functionId, request });
      return host('TDH.DEVIF.RESPONSE', { functionId });
    };
    const tdTdisp = async (request: string) => {
      await td('TDG.DEVIF.REQUEST', { request });
      await host('TDH.DEVIF.REQUEST', { functionId, td: true });
      await host('TDH.DEVIF.RESPONSE', { functionId });
      return td('TDG.DEVIF.RESPONSE', {});
    };

    // Connect, and the TD.
    await host('TDH.SPDM.CREATE', { device, iommuId: 0, spdmIdx: 0 });
    await host('TDH.IDE.STREAM.CREATE', { device, streamId: STREAM });
    await host('TDH.SPDM.CONNECT', { device });
    await host('TDH.MNG.CREATE', { td: TD });
    await host('TDH.MR.FINALIZE', { td: TD });
    // Bind and LOCK.
    await host('TDH.DEVIF.CREATE', { functionId, device, td: TD });
    await td('TDG.DEVIF.VALIDATE', { devInfoHash: devInfoHash(w.dev) });
    await host('TDH.DEVIF.REQUEST', {
      functionId,
      request: 'LOCK_INTERFACE_REQUEST',
      noFwUpdate: true,
    });
    await host('TDH.DEVIF.RESPONSE', { functionId });
    // Attest: the TD reads the report and its ranges.
    const rep = await tdTdisp('GET_DEVICE_INTERFACE_REPORT');
    assert.ok(rep?.value instanceof Uint8Array);
    const info = await td('TDG.TDI.RD', {});
    const ranges = info?.ranges as {
      rangeId: number;
      base: bigint;
      pages: number;
      nonTee: boolean;
    }[];
    const tee = ranges.filter((r) => !r.nonTee);
    assert.ok(tee.length > 0);
    // Accept: every page of every TEE range, then DMA, then START.
    let gfn = 0x400n;
    const mapped: bigint[] = [];
    for (const r of tee) {
      for (let i = 0; i < r.pages; i++, gfn++) {
        const pfn = (r.base >> PAGE_SHIFT) + BigInt(i);
        await host('TDH.MMIOMT.ADD', { pfn });
        await host('TDH.MMIOMT.SET', { pfn, functionId });
        await host('TDH.MMIO.MAP', { td: TD, gfn, pfn });
        await td('TDG.MMIO.ACCEPT', { gfn, rangeId: r.rangeId, pageOffset: i });
        mapped.push(gfn);
      }
    }
    await host('TDH.DMAR.ADD', { functionId });
    await td('TDG.DMAR.ACCEPT', {});
    await td('TDG.TDI.START', {});
    await host('TDH.DEVIF.REQUEST', { functionId, td: true });
    await host('TDH.DEVIF.RESPONSE', { functionId });
    await td('TDG.DEVIF.RESPONSE', {});
    assert.equal((await tdTdisp('GET_DEVICE_INTERFACE_STATE'))?.value, 'RUN');
    assert.equal(p.tsm.tdis.get(w.tdi.requesterId)?.mmio.size, mapped.length);

    // Unbind, TDX order.
    assert.equal((await hostTdisp('STOP_INTERFACE_REQUEST'))?.request, 'STOP_INTERFACE_REQUEST');
    await host('TDH.DMAR.BLOCK', { functionId });
    await host('TDH.DMAR.REMOVE', { functionId });
    for (const g of mapped) await host('TDH.MMIO.BLOCK', { td: TD, gfn: g });
    await host('TDH.MEM.TRACK', { td: TD });
    for (const g of mapped) await host('TDH.MMIO.UNMAP', { td: TD, gfn: g });
    await host('TDH.DEVIF.REMOVE', { functionId });
    // The device goes.
    await host('TDH.IDE.STREAM.BLOCK', { device, streamId: STREAM });
    await host('TDH.IDE.STREAM.DELETE', { device, streamId: STREAM });
    await host('TDH.SPDM.DISCONNECT', { device });
    await host('TDH.SPDM.DELETE', { device });

    // Nothing private of the TDI is left, and the TD's secure EPT maps no MMIO.
    assert.equal(p.tsm.tdis.size, 0);
    assert.equal(p.tsm.devices.size, 0);
    assert.equal(p.vendor.devifs.size, 0);
    assert.equal(p.hw.iommu.secure.size, 0);
    assert.equal(pfnCount(p.hw.septs.get(TD)?.entries ?? {}), 0);
    // Every call is one event, from the domain that made it (an alias traces its leaf name).
    const guestCalls = new Set(trace.filter((e) => e.domain === 'guest').map((e) => e.call));
    assert.deepEqual([...guestCalls].sort(), [
      'TDG.DEVIF.RD',
      'TDG.DEVIF.REQUEST',
      'TDG.DEVIF.RESPONSE',
      'TDG.DEVIF.VALIDATE',
      'TDG.DMAR.ACCEPT',
      'TDG.MMIO.ACCEPT',
      'TDG.TDI.START',
    ]);
    assert.ok(trace.every((e) => e.flavour === 'tdx' && e.ok));
    assert.ok(trace.every((e) => e.call.startsWith(e.domain === 'host' ? 'TDH.' : 'TDG.')));
  });

  it('the host and guest tables share no call', () => {
    for (const name of Object.keys(tdx.guest)) assert.equal(tdx.host[name], undefined, name);
    for (const name of Object.keys(tdx.host)) assert.ok(name.startsWith('TDH.'), name);
    for (const name of Object.keys(tdx.guest)) assert.ok(name.startsWith('TDG.'), name);
  });
});
