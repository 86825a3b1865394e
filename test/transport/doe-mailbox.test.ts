import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDevice } from '../../src/device/pci/device.ts';
import type { DsmProfile } from '../../src/device/pci/profile.ts';
import { nvme } from '../../src/device/profiles/index.ts';
import { doeDiscovery } from '../../src/transport/doe-discovery.ts';
import {
  type ConfigAccessor,
  createDoeMailboxTransport,
  type DoeDriverState,
  type DoeMailboxTransport,
  findDoeCapability,
  newDoeDriverState,
} from '../../src/transport/doe-mailbox.ts';
import { TransportError } from '../../src/transport/types.ts';
import { VirtualClock } from '../../src/wire/clock.ts';
import { capturePairs } from '../support/captures.ts';

type Handler = (o: Uint8Array) => Uint8Array | undefined;

/** The NVMe profile's function 0 with a DOE mailbox whose handler is `handler`. */
function mailbox(handler: Handler | undefined, doe: DsmProfile['doe'] = {}) {
  const dev = createDevice({ ...nvme, dsm: { ...nvme.dsm, doe } }, { doeHandler: handler });
  const cfg: ConfigAccessor = {
    read32: (off) => dev.configRead(0, off, 4),
    write32: (off, v) => dev.configWrite(0, off, 4, v >>> 0),
  };
  const cap = findDoeCapability(cfg);
  assert.ok(cap !== undefined, 'DOE capability found by the extended-capability walk');
  return { dev, cfg, cap };
}

/** Builds a DOE object by hand: vendor 0001h, type, length in dwords, body zero-padded. */
function obj(type: number, body: number[]): Uint8Array {
  const padded = Math.ceil(body.length / 4) * 4;
  const len = 2 + padded / 4;
  const out = new Uint8Array(8 + padded);
  out.set([0x01, 0x00, type, 0x00, len & 0xff, (len >> 8) & 0xff, len >> 16, 0]);
  out.set(body, 8);
  return out;
}

const rejects = async (p: Promise<unknown>, code: string) =>
  assert.rejects(p, (e: unknown) => e instanceof TransportError && e.code === code);

describe('DOE mailbox transport', () => {
  it('finds the DOE capability at the offset the device model placed it', () => {
    const { dev, cap } = mailbox(undefined);
    assert.equal(dev.configRead(0, cap, 4) & 0xffff, 0x2e);
  });

  it("carries every PCI_DOE object of libspdm's session capture through real register accesses", async () => {
    const pairs = capturePairs('doe-spdm13-session.txt', 2);
    assert.ok(pairs.length > 30);
    let next = 0;
    const seen: Uint8Array[] = [];
    const { cfg, cap } = mailbox((o) => {
      seen.push(o);
      return pairs[next][1];
    });
    const t = createDoeMailboxTransport(cfg, cap);
    for (; next < pairs.length; next++) {
      assert.deepEqual(await t.exchangeRaw(pairs[next][0]), pairs[next][1], `pair ${next}`);
    }
    assert.deepEqual(
      seen,
      pairs.map((p) => p[0]),
    );
  });

  it('walks DOE Discovery through the mailbox (doeDiscovery over exchangeRaw)', async () => {
    // An independent discovery responder: {0001h,0} -> {0001h,1} -> {0001h,2}.
    const { cfg, cap } = mailbox((o) => {
      const index = o[8];
      return obj(0, [0x01, 0x00, index, index === 2 ? 0 : index + 1]);
    });
    const list = await doeDiscovery(createDoeMailboxTransport(cfg, cap));
    assert.deepEqual(
      list.map((d) => [d.vendorId, d.dataObjectType, d.nextIndex]),
      [
        [1, 0, 1],
        [1, 1, 2],
        [1, 2, 0],
      ],
    );
  });

  it('exchange() frames SPDM as DOE type 1 and returns the padded message with maxPad', async () => {
    // GET_VERSION 10 84 00 00 -> VERSION with one entry 0x1300 (10 04 00 00 00 01 00 13).
    const { cfg, cap } = mailbox((o) => {
      assert.deepEqual(o, obj(1, [0x10, 0x84, 0, 0]));
      return obj(1, [0x10, 0x04, 0, 0, 0, 1, 0x00, 0x13, 0x00]);
    });
    const t = createDoeMailboxTransport(cfg, cap);
    const r = await t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) });
    assert.equal(r.secured, false);
    assert.deepEqual(r.bytes.subarray(0, 9), Uint8Array.of(0x10, 0x04, 0, 0, 0, 1, 0, 0x13, 0));
    assert.equal(r.bytes.length, 12);
  });

  it('waits out DOE Busy (the object stays in processing for several Status reads)', async () => {
    const { cfg, cap } = mailbox(() => obj(0, [1, 0, 0, 0]), { busyPolls: 7 });
    const t = createDoeMailboxTransport(cfg, cap);
    assert.deepEqual(await t.exchangeRaw(obj(0, [0, 0, 0, 0])), obj(0, [1, 0, 0, 0]));
  });

  it('times out (bounded) when the device never answers, aborts, and the mailbox works again', async () => {
    let answer = false;
    const { dev, cfg, cap } = mailbox(() => (answer ? obj(0, [1, 0, 0, 0]) : undefined));
    const clock = new VirtualClock();
    const t = createDoeMailboxTransport(cfg, cap, { clock, pollIntervalMs: 8 });
    await rejects(t.exchangeRaw(obj(0, [0, 0, 0, 0])), 'timeout');
    // Linux's 1 s deadline on the virtual clock: polls 8 ms apart until it has passed.
    assert.ok(clock.now() > 1000 && clock.now() <= 1008, `clock at ${clock.now()}`);
    assert.equal(dev.configRead(0, cap + 0x0c, 4), 0, 'idle after the abort');
    assert.equal(t.state().phase, 'idle');
    answer = true;
    assert.deepEqual(await t.exchangeRaw(obj(0, [0, 0, 0, 0])), obj(0, [1, 0, 0, 0]));
  });

  it('turns DOE Error (a handler that throws) into device-error and recovers by Abort', async () => {
    let fault = true;
    const { cfg, cap } = mailbox(() => {
      if (fault) throw new Error('firmware fault');
      return obj(0, [1, 0, 0, 0]);
    });
    const t = createDoeMailboxTransport(cfg, cap);
    await rejects(t.exchangeRaw(obj(0, [0, 0, 0, 0])), 'device-error');
    fault = false;
    assert.deepEqual(await t.exchangeRaw(obj(0, [0, 0, 0, 0])), obj(0, [1, 0, 0, 0]));
  });

  it('refuses a response of another protocol (Linux: vendor/type must match the request)', async () => {
    const { cfg, cap } = mailbox((o) => (o[2] === 1 ? obj(2, [0, 0, 0, 0]) : obj(0, [9, 9, 9, 9])));
    const t = createDoeMailboxTransport(cfg, cap);
    await rejects(t.exchangeRaw(obj(1, [0x10, 0x84, 0, 0])), 'bad-payload');
    assert.deepEqual(await t.exchangeRaw(obj(0, [0, 0, 0, 0])), obj(0, [9, 9, 9, 9]));
  });

  it('refuses a response larger than maxResponseDwords', async () => {
    const { cfg, cap } = mailbox(() => obj(0, new Array(64).fill(7)));
    const t = createDoeMailboxTransport(cfg, cap, { maxResponseDwords: 8 });
    await rejects(t.exchangeRaw(obj(0, [0, 0, 0, 0])), 'bad-payload');
  });

  it('serialises concurrent exchanges (one object per direction)', async () => {
    const { cfg, cap } = mailbox((o) => obj(0, [o[8], 0, 0, 0]), { busyPolls: 3 });
    const t = createDoeMailboxTransport(cfg, cap);
    const replies = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => t.exchangeRaw(obj(0, [i, 0, 0, 0]))),
    );
    assert.deepEqual(
      replies.map((r) => r[8]),
      [1, 2, 3, 4, 5],
    );
  });

  it('uses the register protocol exactly: Abort first, dword writes, Go, read/advance per dword', async () => {
    // A minimal independent mailbox double that logs every access.
    const log: string[] = [];
    let written: number[] = [];
    let out: number[] = [];
    const cfg: ConfigAccessor = {
      read32(off) {
        if (off === 0x10c) {
          log.push('status');
          return out.length ? 0x80000000 : 0;
        }
        if (off === 0x114) {
          log.push('read');
          return out[0] ?? 0;
        }
        return 0;
      },
      write32(off, v) {
        if (off === 0x108 && v === 1) log.push('abort');
        else if (off === 0x108 && v === 0x80000000) {
          log.push('go');
          out = [0x00000001, 3, written[2]];
          written = [];
        } else if (off === 0x110) {
          log.push('write');
          written.push(v);
        } else if (off === 0x114) {
          log.push('advance');
          out.shift();
        }
      },
    };
    const t = createDoeMailboxTransport(cfg, 0x100);
    const reply = await t.exchangeRaw(obj(0, [5, 0, 0, 0]));
    assert.deepEqual(reply, obj(0, [5, 0, 0, 0]));
    assert.deepEqual(log, [
      'abort',
      'status',
      'status',
      'write',
      'write',
      'write',
      'go',
      'status',
      'read',
      'advance',
      'read',
      'advance',
      'read',
      'status', // Data Object Ready still set before the last advance
      'advance',
      'status', // final DOE Error check
    ]);
  });

  it('marks the mailbox dead when Abort never completes', async () => {
    const cfg: ConfigAccessor = { read32: () => 0x4, write32: () => {} }; // Error stuck
    const t = createDoeMailboxTransport(cfg, 0x100, { timeoutMs: 5, maxPolls: 10 });
    await rejects(t.exchangeRaw(obj(0, [0, 0, 0, 0])), 'closed');
    assert.equal(t.dead, true);
    assert.equal(t.state().phase, 'dead');
  });

  it('keeps its register-protocol step and buffers as plain data', async () => {
    let seen: DoeDriverState | undefined;
    let t: DoeMailboxTransport | undefined;
    const { cfg, cap } = mailbox((o) => {
      seen = t!.state();
      return obj(0, [o[8] + 1, 0, 0, 0]);
    });
    t = createDoeMailboxTransport(cfg, cap);
    assert.deepEqual(t.state(), newDoeDriverState());
    const request = obj(0, [7, 0, 0, 0]);
    assert.deepEqual(await t.exchangeRaw(request), obj(0, [8, 0, 0, 0]));
    // The handler ran at DOE Go: the whole request written, nothing read yet.
    assert.equal(seen?.phase, 'send');
    assert.deepEqual(seen?.request, request);
    assert.equal(seen?.written, 3);
    assert.deepEqual(seen?.response, []);
    const after = t.state();
    assert.equal(after.phase, 'idle');
    assert.equal(after.request, undefined);
    assert.deepEqual(structuredClone(after), after);
  });

  it('is closed after close()', async () => {
    const { cfg, cap } = mailbox(() => obj(0, [1, 0, 0, 0]));
    const t = createDoeMailboxTransport(cfg, cap);
    await t.close();
    await rejects(t.exchangeRaw(obj(0, [0, 0, 0, 0])), 'closed');
  });
});
