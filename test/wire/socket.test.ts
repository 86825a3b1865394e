import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../src/wire/errors.ts';
import {
  decodeFrame,
  encodeFrame,
  SOCKET_CLIENT_HELLO,
  SOCKET_DEFAULT_MAX_PAYLOAD,
  SOCKET_SERVER_HELLO,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_SPDM_COMMAND_SHUTDOWN,
  SOCKET_SPDM_COMMAND_TEST,
  SOCKET_TRANSPORT_TYPE_MCTP,
  SOCKET_TRANSPORT_TYPE_PCI_DOE,
  type SocketFrame,
  SocketFrameParser,
  socketCommandName,
} from '../../src/wire/socket.ts';
import { CAPTURES, frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust, FUZZ_RUNS } from '../support/robust.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const frameArb: fc.Arbitrary<SocketFrame> = fc.record(
  {
    command: fc.oneof(fc.constantFrom(0x0001, 0xdead, 0xfffe, 0xfffd, 0xffff, 0x8001), u32),
    transportType: fc.oneof(fc.integer({ min: 0, max: 3 }), u32),
    payload: fc.uint8Array({ maxLength: 80 }),
  },
  { noNullPrototype: true },
);

/** Independent builder: big-endian header by DataView. */
function frameOf(command: number, transport: number, payload: number[]): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, command);
  v.setUint32(4, transport);
  v.setUint32(8, payload.length);
  out.set(payload, 12);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('spdm-emu socket frame', () => {
  test('round trips both ways', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const b = encodeFrame(f);
        assert.deepStrictEqual(b, frameOf(f.command, f.transportType, [...f.payload]));
        assert.deepStrictEqual(decodeFrame(b), f);
        assert.deepStrictEqual(encodeFrame(decodeFrame(b)), b);
      }),
      { numRuns: 2000 },
    );
  });

  test('hello strings are the 14 bytes sizeof() sends', () => {
    assert.deepStrictEqual([...SOCKET_CLIENT_HELLO], [...Buffer.from('Client Hello!\0', 'latin1')]);
    assert.deepStrictEqual([...SOCKET_SERVER_HELLO], [...Buffer.from('Server Hello!\0', 'latin1')]);
    assert.equal(SOCKET_CLIENT_HELLO.length, 14);
  });

  test('decodeFrame rejects short, long and oversized frames', () => {
    const f = frameOf(1, 2, [1, 2, 3]);
    assert.throws(() => decodeFrame(f.subarray(0, 14)), { name: 'WireError', kind: 'truncated' });
    assert.throws(() => decodeFrame(concat([f, Uint8Array.of(0)])), { kind: 'trailing' });
    const big = frameOf(1, 2, []);
    new DataView(big.buffer).setUint32(8, 0xffff_ffff);
    assert.throws(() => decodeFrame(big), { kind: 'too-large', field: 'PayloadSize' });
    assert.throws(() => decodeFrame(f, { maxPayload: 2 }), { kind: 'too-large' });
    assert.deepStrictEqual(decodeFrame(f, { maxPayload: 3 }).payload, Uint8Array.of(1, 2, 3));
  });

  test('command names', () => {
    assert.equal(socketCommandName(SOCKET_SPDM_COMMAND_TEST), 'TEST');
    assert.equal(socketCommandName(SOCKET_SPDM_COMMAND_SHUTDOWN), 'SHUTDOWN');
    assert.equal(socketCommandName(0x1234), '0x1234');
  });

  test('robust against hostile input', () => {
    checkRobust('socket frame', frameArb.map(encodeFrame), (b) => decodeFrame(b));
  });
});

describe('SocketFrameParser', () => {
  const stream = [
    frameOf(SOCKET_SPDM_COMMAND_TEST, SOCKET_TRANSPORT_TYPE_PCI_DOE, [...SOCKET_CLIENT_HELLO]),
    frameOf(
      SOCKET_SPDM_COMMAND_NORMAL,
      SOCKET_TRANSPORT_TYPE_PCI_DOE,
      [1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0],
    ),
    frameOf(SOCKET_SPDM_COMMAND_SHUTDOWN, SOCKET_TRANSPORT_TYPE_PCI_DOE, []),
    frameOf(SOCKET_SPDM_COMMAND_NORMAL, SOCKET_TRANSPORT_TYPE_MCTP, [5, 0x10, 0x84, 0, 0]),
  ];
  const all = concat(stream);
  const expected = stream.map((b) => decodeFrame(b));

  test('every split point of a multi-frame stream (one and two cuts)', () => {
    for (let i = 0; i <= all.length; i++) {
      const p = new SocketFrameParser();
      const got = [...p.push(all.subarray(0, i)), ...p.push(all.subarray(i))];
      assert.deepStrictEqual(got, expected, `split at ${i}`);
      assert.equal(p.midFrame, false);
    }
    for (let i = 0; i <= all.length; i += 3) {
      for (let j = i; j <= all.length; j++) {
        const p = new SocketFrameParser();
        const got = [
          ...p.push(all.subarray(0, i)),
          ...p.push(all.subarray(i, j)),
          ...p.push(all.subarray(j)),
        ];
        assert.deepStrictEqual(got, expected, `split at ${i}, ${j}`);
      }
    }
  });

  test('byte by byte, and random chunkings', () => {
    const p = new SocketFrameParser();
    const got: SocketFrame[] = [];
    for (let i = 0; i < all.length; i++) {
      got.push(...p.push(all.subarray(i, i + 1)));
      assert.ok(p.buffered <= 12 + 17, 'holds at most one frame');
    }
    assert.deepStrictEqual(got, expected);
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat(40)), (frames, cuts) => {
        const bytes = concat(frames.map(encodeFrame));
        const p = new SocketFrameParser();
        const out: SocketFrame[] = [];
        let at = 0;
        for (const c of cuts) {
          out.push(...p.push(bytes.subarray(at, at + c)));
          at += c;
        }
        out.push(...p.push(bytes.subarray(at)));
        assert.deepStrictEqual(out, frames);
      }),
      { numRuns: 500 },
    );
  });

  test('midFrame tells a hang-up between frames from one inside a frame', () => {
    const p = new SocketFrameParser();
    p.push(stream[0]);
    assert.equal(p.midFrame, false);
    p.push(stream[1].subarray(0, 5));
    assert.equal(p.midFrame, true);
    assert.equal(p.buffered, 5);
  });

  test('a 4 GiB announcement is refused before any allocation, and the parser stays failed', () => {
    const p = new SocketFrameParser();
    const head = frameOf(1, 2, []);
    new DataView(head.buffer).setUint32(8, 0xffff_ffff);
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(
      () => p.push(head),
      (e: unknown) => {
        assert.ok(e instanceof WireError);
        assert.equal(e.kind, 'too-large');
        assert.equal(e.field, 'PayloadSize');
        return true;
      },
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
    assert.throws(() => p.push(Uint8Array.of(0)), { kind: 'too-large' });
    // The limit is inclusive and configurable.
    const q = new SocketFrameParser({ maxPayload: 4 });
    assert.equal(q.push(frameOf(1, 2, [1, 2, 3, 4])).length, 1);
    assert.throws(() => q.push(frameOf(1, 2, [1, 2, 3, 4, 5])), { kind: 'too-large' });
    const d = new SocketFrameParser();
    const ok = frameOf(1, 2, []);
    new DataView(ok.buffer).setUint32(8, SOCKET_DEFAULT_MAX_PAYLOAD);
    assert.deepStrictEqual(d.push(ok), []);
    assert.equal(d.buffered, 12);
  });

  test('robust: any byte stream parses into frames or throws WireError', () => {
    const push = (b: Uint8Array) => {
      const p = new SocketFrameParser({ maxPayload: 256 });
      const half = b.length >>> 1;
      p.push(b.subarray(0, half));
      p.push(b.subarray(half));
    };
    const streams = fc
      .array(frameArb, { minLength: 1, maxLength: 3 })
      .map((fs) => concat(fs.map(encodeFrame)));
    checkRobust('socket stream', streams, push, Math.min(FUZZ_RUNS, 30_000));
  });
});

describe('socket known answers from the libspdm captures', () => {
  for (const name of CAPTURES) {
    test(`${name}: every frame parses and re-encodes identically, also as one stream`, () => {
      const frames = loadCapture(name);
      assert.ok(frames.length > 40);
      const parser = new SocketFrameParser();
      for (const f of frames) {
        const bytes = frameBytes(f);
        const d = decodeFrame(bytes);
        assert.equal(d.command, f.command, `frame #${f.index}`);
        assert.equal(d.transportType, f.transport);
        assert.deepStrictEqual(d.payload, f.payload);
        assert.deepStrictEqual(encodeFrame(d), bytes);
        // Each direction of a TCP connection is one stream; feeding all frames in order
        // through one parser in 7-byte chunks must give them back.
        const got: SocketFrame[] = [];
        for (let i = 0; i < bytes.length; i += 7)
          got.push(...parser.push(bytes.subarray(i, i + 7)));
        assert.deepStrictEqual(got, [d]);
      }
      const hello = frames.find(
        (f) => f.command === SOCKET_SPDM_COMMAND_TEST && f.dir === 'REQ->RSP',
      )!;
      assert.deepStrictEqual(hello.payload, SOCKET_CLIENT_HELLO);
      const reply = frames.find(
        (f) => f.command === SOCKET_SPDM_COMMAND_TEST && f.dir === 'RSP->REQ',
      )!;
      assert.deepStrictEqual(reply.payload, SOCKET_SERVER_HELLO);
      assert.equal(frames.at(-1)!.command, SOCKET_SPDM_COMMAND_SHUTDOWN);
    });
  }
});
