/**
 * The TSM core against teeio's device through function 0's DOE mailbox, the host lending
 * the mailbox as carrier: a device record, connect (SPDM + IDE keys), a TDI bound to one
 * VM, LOCK, the report placed in host physical addresses, START, STOP, disconnect, and the
 * refusals on the way, each leaving the records exactly as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import { createPlatform } from '../../../src/platform/platform.ts';
import {
  tsmConnect,
  tsmDeviceCreate,
  tsmDeviceDestroy,
  tsmDisconnect,
} from '../../../src/platform/tsm/device.ts';
import { createTsmEnv } from '../../../src/platform/tsm/link.ts';
import { tdiRunning } from '../../../src/platform/tsm/state.ts';
import {
  tsmTdiBind,
  tsmTdiCreate,
  tsmTdiDestroy,
  tsmTdiLock,
  tsmTdiReport,
  tsmTdiStart,
  tsmTdiState,
  tsmTdiStop,
} from '../../../src/platform/tsm/tdi.ts';
import { tsmVmCreate, tsmVmDestroy } from '../../../src/platform/tsm/vm.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import type { RequesterTransport } from '../../../src/wire/transport.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { assignedBars } from '../../../src/world/host-view.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';
import { recordsHash } from '../records-hash.ts';

async function world(seed = 'p core') {
  const random = seededRandom(seed);
  const dev = await createTdispDevice({ profile: nic, enumerate: true, random });
  const env = createTsmEnv(requesterConfig({ trustAnchors: [dev.root], random }), random);
  const p = createPlatform(undefined);
  const carrier = dev.doeTransport();
  const fn0 = dev.device.requesterId(0);
  const tdi = dev.tdis()[0];
  return { dev, env, p, carrier, fn0, tdi };
}

/** Asserts a refusal with `reason` that left the records as they were. */
async function refused(
  p: object,
  reason: string,
  call: () => Promise<{ ok: boolean; reason?: string }> | { ok: boolean; reason?: string },
) {
  const before = canonicalHash(p);
  const r = await call();
  assert.equal(r.ok, false);
  assert.equal(r.reason, reason);
  assert.equal(canonicalHash(p), before, `${reason}: records changed`);
}

describe('TSM core: a TDI from connect to RUN and back', () => {
  it('connects, binds, locks, reports, starts, stops and disconnects', async () => {
    const { dev, env, p, carrier, fn0, tdi } = await world();
    await refused(p, 'no-such-device', () => tsmConnect(p, env, fn0, carrier));
    assert.equal(tsmDeviceCreate(p, fn0).ok, true);
    await refused(p, 'device-exists', () => tsmDeviceCreate(p, fn0));
    await refused(p, 'device-not-connected', () => tsmTdiCreate(p, fn0, tdi.interfaceId));

    const c = await tsmConnect(p, env, fn0, carrier);
    assert.ok(c.ok, JSON.stringify(c));
    assert.equal(c.value.chainDigest.length, 48);
    assert.equal(p.tsm.devices.get(fn0)?.stream?.state, 'secure');
    await refused(p, 'device-connected', () => tsmConnect(p, env, fn0, carrier));

    assert.equal(tsmTdiCreate(p, fn0, tdi.interfaceId).ok, true);
    await refused(p, 'tdi-not-bound', () => tsmTdiLock(p, env, tdi.requesterId, carrier));
    await refused(p, 'no-such-vm', () => tsmTdiBind(p, tdi.requesterId, 'td1'));
    tsmVmCreate(p, 'td1');
    tsmVmCreate(p, 'td2');
    assert.equal(tsmTdiBind(p, tdi.requesterId, 'td1').ok, true);
    await refused(p, 'tdi-bound', () => tsmTdiBind(p, tdi.requesterId, 'td2'));
    await refused(p, 'tdi-state', () => tsmTdiReport(p, env, tdi.requesterId, carrier));

    assert.equal((await tsmTdiLock(p, env, tdi.requesterId, carrier)).ok, true);
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.state, 'CONFIG_LOCKED');
    await refused(p, 'no-report', () => tsmTdiStart(p, env, tdi.requesterId, carrier));

    const rep = await tsmTdiReport(p, env, tdi.requesterId, carrier);
    assert.ok(rep.ok);
    // The ranges sit where enumeration put the BARs (reporting offset 0).
    const bars = assignedBars(dev.profile, dev.enumerated ?? new Map(), tdi.fn);
    const ranges = p.tsm.tdis.get(tdi.requesterId)?.report?.ranges ?? [];
    assert.ok(ranges.length > 0);
    for (const r of ranges) {
      const bar = bars.find((b) => b.index === r.rangeId);
      assert.ok(bar, `range ${r.rangeId} names a BAR`);
      assert.ok(r.base >= bar.address && r.base < bar.address + bar.size);
    }

    assert.equal(tdiRunning(p.tsm, tdi.requesterId), false);
    assert.equal((await tsmTdiStart(p, env, tdi.requesterId, carrier)).ok, true);
    assert.equal(tdiRunning(p.tsm, tdi.requesterId), true);
    const st = await tsmTdiState(p, env, tdi.requesterId, carrier);
    assert.deepEqual(st, { ok: true, value: 'RUN' });

    await refused(p, 'device-has-tdis', () => tsmDisconnect(p, env, fn0, carrier));
    await refused(p, 'tdi-bound', () => tsmVmDestroy(p, 'td1'));

    assert.equal((await tsmTdiStop(p, env, tdi.requesterId, carrier)).ok, true);
    const rec = p.tsm.tdis.get(tdi.requesterId);
    assert.equal(rec?.state, 'CONFIG_UNLOCKED');
    assert.equal(rec?.nonce, undefined, 'the START nonce is wiped');
    assert.equal(rec?.report, undefined);
  });

  it('a device error is a refusal naming the request, and the record keeps its state', async () => {
    const { env, p, carrier, fn0, tdi } = await world('device error');
    tsmDeviceCreate(p, fn0);
    assert.ok((await tsmConnect(p, env, fn0, carrier)).ok);
    tsmTdiCreate(p, fn0, tdi.interfaceId);
    tsmVmCreate(p, 'td1');
    tsmTdiBind(p, tdi.requesterId, 'td1');
    assert.ok((await tsmTdiLock(p, env, tdi.requesterId, carrier)).ok);
    // A host that drops every message it carries.
    const dropping: RequesterTransport = {
      binding: carrier.binding,
      exchange: () =>
        Promise.reject(Object.assign(new Error('dropped'), { name: 'TransportError' })),
      close: async () => undefined,
    };
    const before = recordsHash(p);
    const r = await tsmTdiReport(p, env, tdi.requesterId, dropping);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'device-error');
    assert.match(!r.ok ? r.detail : '', /GET_DEVICE_INTERFACE_REPORT/);
    assert.equal(recordsHash(p), before);
    // The lost message ended the session in the TSM's own link record.
    const sessionId = p.tsm.devices.get(fn0)?.link?.sessionId ?? -1;
    assert.equal(p.tsm.links.get(fn0)?.sessions.has(sessionId), false);
  });

  it('disconnect ends the session; the record can then be destroyed', async () => {
    const { env, p, carrier, fn0, tdi } = await world('disconnect');
    tsmDeviceCreate(p, fn0);
    assert.ok((await tsmConnect(p, env, fn0, carrier)).ok);
    tsmTdiCreate(p, fn0, tdi.interfaceId);
    await refused(p, 'device-connected', () => tsmDeviceDestroy(p, env, fn0));
    assert.ok((await tsmDisconnect(p, env, fn0, carrier)).ok);
    assert.equal(p.tsm.devices.get(fn0)?.phase, 'disconnected');
    await refused(p, 'device-has-tdis', () => tsmDeviceDestroy(p, env, fn0));
    assert.ok(tsmTdiDestroy(p, tdi.requesterId).ok);
    assert.ok(tsmDeviceDestroy(p, env, fn0).ok);
    assert.equal(p.tsm.links.size, 0);
  });
});

describe('TSM core: a carrier that loses a message', () => {
  it('a lost session is a device-error refusal, never a crash', async () => {
    const { env, p, carrier, fn0, tdi } = await world('lost session');
    tsmDeviceCreate(p, fn0);
    assert.ok((await tsmConnect(p, env, fn0, carrier)).ok);
    tsmTdiCreate(p, fn0, tdi.interfaceId);
    tsmVmCreate(p, 'td1');
    tsmTdiBind(p, tdi.requesterId, 'td1');
    const dropping: RequesterTransport = {
      binding: carrier.binding,
      exchange: () =>
        Promise.reject(Object.assign(new Error('dropped'), { name: 'TransportError' })),
      close: async () => undefined,
    };
    // The requester ends the session whose record may not have arrived.
    assert.equal((await tsmTdiLock(p, env, tdi.requesterId, dropping)).ok, false);
    const again = await tsmTdiLock(p, env, tdi.requesterId, carrier);
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.reason, 'device-error');
    assert.match(!again.ok ? again.detail : '', /session .* is lost/);
    const d = await tsmDisconnect(p, env, fn0, carrier);
    assert.equal(d.ok, false, 'a TDI is still bound');
  });
});
