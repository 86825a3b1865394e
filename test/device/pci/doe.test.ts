import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createDevice } from '../../../src/device/pci/device.ts';
import type { DsmProfile } from '../../../src/device/pci/profile.ts';
import { nvme } from '../../../src/device/profiles/index.ts';
import { capturePairs } from '../../support/captures.ts';
import {
  ABORT,
  BUSY,
  DOE_CTRL,
  DOE_READ,
  DOE_STATUS,
  DOE_WRITE,
  doeExchange,
  doeObject,
  doePoll,
  doeReceive,
  doeSend,
  ERROR,
  findExtCap,
  GO,
  READY,
} from './host.ts';

function doeDevice(
  doe: DsmProfile['doe'] = {},
  handler?: (o: Uint8Array) => Uint8Array | undefined,
) {
  const dev = createDevice({ ...nvme, dsm: { ...nvme.dsm, doe } }, { doeHandler: handler });
  const cap = findExtCap(dev, 0, 0x2e);
  assert.ok(cap !== undefined);
  return { dev, cap };
}

// Hand-built discovery exchange (PCIe 6.30.1.1): index 0 -> {0001h, type 0, next index 1}.
const DISCOVERY_REQ = Uint8Array.from([
  0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);
const DISCOVERY_RSP = Uint8Array.from([
  0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01,
]);

describe('DOE capability registers', () => {
  it('has the DOE header (id 2Eh), Capabilities per profile, Control reading back only Interrupt Enable', () => {
    const { dev, cap } = doeDevice({ interrupt: true });
    assert.equal(dev.configRead(0, cap, 4) & 0xfffff, 0x2002e);
    assert.equal(dev.configRead(0, cap + 4, 4) & 1, 1, 'interrupt support');
    dev.configWrite(0, cap + DOE_CTRL, 4, 0xffffffff);
    assert.equal(dev.configRead(0, cap + DOE_CTRL, 4), 0x2, 'Go and Abort read 0');
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
    const plain = doeDevice();
    assert.equal(plain.dev.configRead(0, plain.cap + 4, 4), 0);
  });
});

describe('DOE object exchange', () => {
  it('carries a hand-built discovery object dword by dword both ways', () => {
    const seen: Uint8Array[] = [];
    const { dev, cap } = doeDevice({}, (o) => {
      seen.push(o);
      return DISCOVERY_RSP;
    });
    assert.deepEqual(doeExchange(dev, 0, cap, DISCOVERY_REQ), DISCOVERY_RSP);
    assert.deepEqual(seen, [DISCOVERY_REQ]);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0, 'idle after the last dword');
  });

  it("carries every PCI_DOE object of libspdm's session capture unchanged, both directions", () => {
    const pairs = capturePairs('doe-spdm13-session.txt', 2);
    assert.ok(pairs.length > 30, `pairs: ${pairs.length}`);
    let expected: Uint8Array | undefined;
    let answer: Uint8Array | undefined;
    const { dev, cap } = doeDevice({}, (o) => {
      assert.deepEqual(o, expected);
      return answer;
    });
    let largest = 0;
    for (const [req, rsp] of pairs) {
      expected = req;
      answer = rsp;
      largest = Math.max(largest, rsp.length);
      assert.deepEqual(doeExchange(dev, 0, cap, req), rsp);
    }
    assert.ok(largest > 1000, 'includes multi-kilobyte certificate responses');
  });

  it('takes an object split over many dword writes, with status polls in between', () => {
    const payload = Array.from({ length: 4000 }, (_, i) => (i * 7) & 0xff);
    const obj = doeObject(1, payload);
    let got: Uint8Array | undefined;
    const { dev, cap } = doeDevice({}, (o) => {
      got = o;
      return DISCOVERY_RSP;
    });
    for (let i = 0; i < obj.length; i += 4) {
      dev.configWrite(0, cap + DOE_WRITE, 4, new DataView(obj.buffer).getUint32(i, true));
      if (i % 400 === 0) assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
    }
    dev.configWrite(0, cap + DOE_CTRL, 4, GO);
    assert.deepEqual(got, obj);
    assert.deepEqual(doeReceive(dev, 0, cap), DISCOVERY_RSP);
  });

  it('a handler with no answer leaves the mailbox idle (the host times out)', () => {
    const { dev, cap } = doeDevice({}, () => undefined);
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
    assert.throws(() => doePoll(dev, 0, cap, 3), /timeout/);
  });

  it('zero-pads a response that is not a dword multiple', () => {
    const { dev, cap } = doeDevice({}, () =>
      Uint8Array.from([0x01, 0x00, 0x01, 0x00, 0x03, 0, 0, 0, 0xaa, 0xbb]),
    );
    assert.deepEqual(
      doeExchange(dev, 0, cap, DISCOVERY_REQ),
      Uint8Array.from([0x01, 0x00, 0x01, 0x00, 0x03, 0, 0, 0, 0xaa, 0xbb, 0, 0]),
    );
  });
});

describe('DOE Busy', () => {
  it('shows Busy for the configured number of Status reads, then Data Object Ready', () => {
    let calls = 0;
    const { dev, cap } = doeDevice({ busyPolls: 3 }, () => {
      calls++;
      return DISCOVERY_RSP;
    });
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    assert.equal(calls, 0);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), BUSY);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), BUSY);
    assert.equal(calls, 0);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), BUSY);
    assert.equal(calls, 1, 'processed on the last busy poll');
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), READY);
    assert.deepEqual(doeReceive(dev, 0, cap), DISCOVERY_RSP);
  });

  it('a write to the mailbox while Busy is an Error; Abort recovers', () => {
    const { dev, cap } = doeDevice({ busyPolls: 2 }, () => DISCOVERY_RSP);
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    dev.configWrite(0, cap + DOE_WRITE, 4, 0x00000001);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4) & ERROR, ERROR);
    dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
    assert.deepEqual(doeExchange(dev, 0, cap, DISCOVERY_REQ), DISCOVERY_RSP);
  });

  it('Go while Busy is an Error', () => {
    const { dev, cap } = doeDevice({ busyPolls: 2 }, () => DISCOVERY_RSP);
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    dev.configWrite(0, cap + DOE_CTRL, 4, GO);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4) & ERROR, ERROR);
  });
});

describe('DOE Abort', () => {
  it('mid-request: discards the dwords written so far', () => {
    const seen: Uint8Array[] = [];
    const { dev, cap } = doeDevice({}, (o) => {
      seen.push(o);
      return DISCOVERY_RSP;
    });
    dev.configWrite(0, cap + DOE_WRITE, 4, 0x00000001);
    dev.configWrite(0, cap + DOE_WRITE, 4, 0x00000005);
    dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
    assert.deepEqual(doeExchange(dev, 0, cap, DISCOVERY_REQ), DISCOVERY_RSP);
    assert.deepEqual(seen, [DISCOVERY_REQ]);
  });

  it('mid-response: drops the rest of the response', () => {
    const { dev, cap } = doeDevice({}, () => DISCOVERY_RSP);
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    dev.configRead(0, cap + DOE_READ, 4);
    dev.configWrite(0, cap + DOE_READ, 4, 0);
    dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
    assert.deepEqual(doeExchange(dev, 0, cap, DISCOVERY_REQ), DISCOVERY_RSP);
  });

  it('clears Error and Busy (what Linux pci_doe_abort waits for)', () => {
    const { dev, cap } = doeDevice({ busyPolls: 5 }, () => DISCOVERY_RSP);
    dev.configWrite(0, cap + DOE_CTRL, 4, GO); // empty mailbox: Error
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), ERROR);
    dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), BUSY);
    dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
  });

  it('an FLR of function 0 aborts the mailbox', () => {
    const { dev, cap } = doeDevice({}, () => DISCOVERY_RSP);
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), READY);
    dev.configWrite(0, 0x48 + 8, 2, 0x8000); // PCIe cap at 0x48: Initiate FLR
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
  });
});

describe('DOE Error', () => {
  const status = (dev: ReturnType<typeof createDevice>, cap: number) =>
    dev.configRead(0, cap + DOE_STATUS, 4);

  it('on an object larger than the mailbox, as soon as it overflows', () => {
    const { dev, cap } = doeDevice({ maxObjectDwords: 8 }, () => DISCOVERY_RSP);
    const obj = doeObject(1, new Array(28).fill(0)); // 9 dwords
    for (let i = 0; i < 32; i += 4)
      dev.configWrite(0, cap + DOE_WRITE, 4, new DataView(obj.buffer).getUint32(i, true));
    assert.equal(status(dev, cap), 0, '8 dwords fit');
    dev.configWrite(0, cap + DOE_WRITE, 4, 0);
    assert.equal(status(dev, cap), ERROR);
    dev.configWrite(0, cap + DOE_CTRL, 4, GO);
    assert.equal(status(dev, cap), ERROR, 'Go ignored while Error');
  });

  it('on a response larger than the mailbox', () => {
    const { dev, cap } = doeDevice({ maxObjectDwords: 4 }, () =>
      doeObject(1, new Array(12).fill(1)),
    );
    doeSend(dev, 0, cap, DISCOVERY_REQ);
    assert.equal(status(dev, cap), ERROR);
  });

  it('on a Length field that disagrees with the dwords written (including 0 = 2^18)', () => {
    for (const len of [4, 2, 0]) {
      const { dev, cap } = doeDevice({}, () => DISCOVERY_RSP);
      const obj = DISCOVERY_REQ.slice();
      obj[4] = len;
      doeSend(dev, 0, cap, obj);
      assert.equal(status(dev, cap), ERROR, `length ${len}`);
    }
  });

  it('on Go with an empty mailbox or less than a header', () => {
    const a = doeDevice({}, () => DISCOVERY_RSP);
    a.dev.configWrite(0, a.cap + DOE_CTRL, 4, GO);
    assert.equal(status(a.dev, a.cap), ERROR);
    const b = doeDevice({}, () => DISCOVERY_RSP);
    b.dev.configWrite(0, b.cap + DOE_WRITE, 4, 0x00000001);
    b.dev.configWrite(0, b.cap + DOE_CTRL, 4, GO);
    assert.equal(status(b.dev, b.cap), ERROR);
  });

  it('on reading or advancing the read mailbox with no object ready', () => {
    const a = doeDevice({}, () => DISCOVERY_RSP);
    assert.equal(a.dev.configRead(0, a.cap + DOE_READ, 4), 0);
    assert.equal(status(a.dev, a.cap), ERROR);
    const b = doeDevice({}, () => DISCOVERY_RSP);
    b.dev.configWrite(0, b.cap + DOE_READ, 4, 0);
    assert.equal(status(b.dev, b.cap), ERROR);
  });

  it('on a sub-dword mailbox write, on Go before the last response was read, on a throwing handler', () => {
    const a = doeDevice({}, () => DISCOVERY_RSP);
    a.dev.configWrite(0, a.cap + DOE_WRITE, 2, 0x0001);
    assert.equal(status(a.dev, a.cap), ERROR);
    const b = doeDevice({}, () => DISCOVERY_RSP);
    doeSend(b.dev, 0, b.cap, DISCOVERY_REQ);
    doeSend(b.dev, 0, b.cap, DISCOVERY_REQ);
    assert.equal(status(b.dev, b.cap) & ERROR, ERROR);
    const c = doeDevice({}, () => {
      throw new Error('responder bug');
    });
    doeSend(c.dev, 0, c.cap, DISCOVERY_REQ);
    assert.equal(status(c.dev, c.cap), ERROR);
  });
});

describe('DOE interrupt', () => {
  it('sets DOE Interrupt Status on Data Object Ready when enabled; write 1 clears it', () => {
    const { dev, cap } = doeDevice({ interrupt: true }, () => DISCOVERY_RSP);
    for (let i = 0; i < 12; i += 4) {
      dev.configWrite(0, cap + DOE_WRITE, 4, new DataView(DISCOVERY_REQ.buffer).getUint32(i, true));
    }
    dev.configWrite(0, cap + DOE_CTRL, 4, (GO | 0x2) >>> 0); // Go with Interrupt Enable kept set
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), (READY | 0x2) >>> 0);
    dev.configWrite(0, cap + DOE_STATUS, 4, 0x2);
    assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), READY);
  });
});

describe('DOE robustness', () => {
  it('any sequence of register accesses leaves a mailbox that Abort returns to a working idle state', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('write' as const), v: fc.nat({ max: 0xffffffff }) }),
      fc.record({ k: fc.constant('hdr' as const), len: fc.nat({ max: 6 }) }),
      fc.constantFrom(
        { k: 'go' as const },
        { k: 'abort' as const },
        { k: 'status' as const },
        { k: 'read' as const },
        { k: 'advance' as const },
        { k: 'byte' as const },
      ),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.nat({ max: 3 }), (ops, busyPolls) => {
        const { dev, cap } = doeDevice({ maxObjectDwords: 5, busyPolls }, (o) =>
          o[2] === 0 ? DISCOVERY_RSP : undefined,
        );
        for (const o of ops) {
          if (o.k === 'write') dev.configWrite(0, cap + DOE_WRITE, 4, o.v);
          else if (o.k === 'hdr') {
            dev.configWrite(0, cap + DOE_WRITE, 4, 0x00000001);
            dev.configWrite(0, cap + DOE_WRITE, 4, o.len);
          } else if (o.k === 'go') dev.configWrite(0, cap + DOE_CTRL, 4, GO);
          else if (o.k === 'abort') dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
          else if (o.k === 'status') dev.configRead(0, cap + DOE_STATUS, 4);
          else if (o.k === 'read') dev.configRead(0, cap + DOE_READ, 4);
          else if (o.k === 'advance') dev.configWrite(0, cap + DOE_READ, 4, 0);
          else dev.configWrite(0, cap + DOE_WRITE + 1, 1, 0xff);
        }
        dev.configWrite(0, cap + DOE_CTRL, 4, ABORT);
        assert.equal(dev.configRead(0, cap + DOE_STATUS, 4), 0);
        doeSend(dev, 0, cap, DISCOVERY_REQ);
        doePoll(dev, 0, cap);
        assert.deepEqual(doeReceive(dev, 0, cap), DISCOVERY_RSP);
      }),
      { numRuns: 400 },
    );
  });
});
