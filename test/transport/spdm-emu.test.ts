/**
 * spdm-emu socket client and server over 127.0.0.1 on ephemeral ports. Every test starts and
 * stops its own servers. Raw net.Sockets play misbehaving peers; expected frames are built
 * here with DataView, not with the encoder under test.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { doeDiscovery } from '../../src/transport/doe-discovery.ts';
import { connectSpdmEmu } from '../../src/transport/spdm-emu-client.ts';
import { type SpdmEmuServer, serveSpdmEmu } from '../../src/transport/spdm-emu-server.ts';
import type { ResponderHandler } from '../../src/transport/types.ts';
import { type SocketFrame, SocketFrameParser } from '../../src/wire/socket.ts';

const DOE = 2;
const MCTP = 1;

function frame(
  command: number,
  transport: number,
  payload: number[] | Uint8Array = [],
): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, command);
  v.setUint32(4, transport);
  v.setUint32(8, payload.length);
  out.set(payload, 12);
  return out;
}
const CLIENT_HELLO = [...Buffer.from('Client Hello!\0', 'latin1')];
const SERVER_HELLO = [...Buffer.from('Server Hello!\0', 'latin1')];

/** Plain: a VERSION-like reply of 15 bytes (DOE pads it); secured: the record echoed. */
const responder: ResponderHandler = async (m) =>
  m.secured
    ? { secured: true, bytes: m.bytes }
    : {
        secured: false,
        bytes: Uint8Array.of(0x10, 0x04, 0, 0, 0, 5, 0x10, 0, 0x11, 0, 0x12, 0, 0x13, 0, 0x14),
      };

/** A raw client that collects decoded frames. */
async function rawClient(port: number) {
  const sock = connect({ host: '127.0.0.1', port });
  await once(sock, 'connect');
  sock.setNoDelay(true);
  const parser = new SocketFrameParser();
  const frames: SocketFrame[] = [];
  let waiting: (() => void) | undefined;
  sock.on('data', (c) => {
    frames.push(...parser.push(c));
    waiting?.();
  });
  sock.on('error', () => {});
  const closed = once(sock, 'close');
  return {
    sock,
    closed,
    async next(ms = 2000): Promise<SocketFrame> {
      const deadline = Date.now() + ms;
      while (frames.length === 0) {
        if (sock.destroyed || Date.now() > deadline) throw new Error('no frame');
        await new Promise<void>((r) => {
          waiting = r;
          setTimeout(r, 20);
        });
      }
      return frames.shift()!;
    },
    async writeByteByByte(b: Uint8Array) {
      for (const x of b) {
        await new Promise<void>((r) => sock.write(Uint8Array.of(x), () => r()));
        await new Promise((r) => setImmediate(r));
      }
    },
  };
}

/** A scripted fake responder (raw TCP) for client-side failure tests. */
async function fakeServer(
  onSocket: (s: Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function withServer(
  transportType: 'pci_doe' | 'mctp',
  fn: (s: SpdmEmuServer, errors: Error[]) => Promise<void>,
  extra: Partial<Parameters<typeof serveSpdmEmu>[0]> = {},
) {
  const errors: Error[] = [];
  const server = await serveSpdmEmu({
    transportType,
    onConnection: () => responder,
    onError: (e) => errors.push(e),
    ...extra,
  });
  try {
    await fn(server, errors);
  } finally {
    await server.close();
  }
}

describe('spdm-emu socket: client <-> server', () => {
  for (const binding of ['pci_doe', 'mctp'] as const) {
    test(`${binding}: hello, plain and secured exchanges, shutdown`, async () => {
      await withServer(binding, async (server) => {
        const wire: string[] = [];
        const t = await connectSpdmEmu({
          port: server.port,
          transportType: binding,
          timeoutMs: 2000,
          onWire: (e) => wire.push(e.direction),
        });
        const v = await t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) });
        assert.equal(v.secured, false);
        assert.deepStrictEqual(
          v.bytes.subarray(0, 15),
          Uint8Array.of(0x10, 0x04, 0, 0, 0, 5, 0x10, 0, 0x11, 0, 0x12, 0, 0x13, 0, 0x14),
        );
        assert.equal(v.bytes.length, binding === 'pci_doe' ? 16 : 15);
        const rec = Uint8Array.of(
          1,
          0,
          0xff,
          0xff,
          ...(binding === 'mctp' ? [7, 0] : []),
          18,
          0,
          1,
          2,
          ...new Array(16).fill(3),
        );
        assert.deepStrictEqual(await t.exchange({ secured: true, bytes: rec }), {
          secured: true,
          bytes: rec,
        });
        assert.deepStrictEqual(wire, ['request', 'response', 'request', 'response']);
        assert.equal(server.connections, 1);
        await t.close();
        await t.close(); // idempotent
        for (let i = 0; i < 50 && server.connections > 0; i++)
          await new Promise((r) => setTimeout(r, 10));
        assert.equal(server.connections, 0);
        await assert.rejects(t.exchange({ secured: false, bytes: Uint8Array.of(1) }), {
          code: 'closed',
        });
      });
    });
  }

  test('PCI_DOE: DOE discovery over the socket lists {1,0} {1,1} {1,2}', async () => {
    await withServer('pci_doe', async (server) => {
      const t = await connectSpdmEmu({ port: server.port, transportType: 'pci_doe' });
      assert.deepStrictEqual(await doeDiscovery(t), [
        { vendorId: 1, dataObjectType: 0, nextIndex: 1 },
        { vendorId: 1, dataObjectType: 1, nextIndex: 2 },
        { vendorId: 1, dataObjectType: 2, nextIndex: 0 },
      ]);
      await t.close();
    });
  });

  test('server: raw frames written byte by byte, the exact bytes spdm-emu expects back', async () => {
    await withServer('pci_doe', async (server) => {
      const c = await rawClient(server.port);
      await c.writeByteByByte(frame(0xdead, DOE, CLIENT_HELLO));
      const hello = await c.next();
      assert.deepStrictEqual(hello, {
        command: 0xdead,
        transportType: DOE,
        payload: Uint8Array.from(SERVER_HELLO),
      });
      // DOE discovery index 1, split byte by byte, answered with type 1 next 2.
      await c.writeByteByByte(frame(1, DOE, [1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0]));
      assert.deepStrictEqual([...(await c.next()).payload], [1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 2]);
      // Two frames in one write.
      c.sock.write(Buffer.concat([frame(0xdead, DOE, CLIENT_HELLO), frame(0x1234, DOE)]));
      assert.equal((await c.next()).command, 0xdead);
      assert.deepStrictEqual(await c.next(), {
        command: 0xffff,
        transportType: DOE,
        payload: new Uint8Array(),
      });
      // OOB key update is echoed empty; the connection stays up.
      c.sock.write(frame(0x8001, DOE));
      assert.equal((await c.next()).command, 0x8001);
      c.sock.write(frame(0xfffe, DOE));
      assert.deepStrictEqual(await c.next(), {
        command: 0xfffe,
        transportType: DOE,
        payload: new Uint8Array(),
      });
      await c.closed;
    });
  });

  test('server: CONTINUE is echoed and the connection closed', async () => {
    await withServer('mctp', async (server) => {
      const c = await rawClient(server.port);
      c.sock.write(frame(0xfffd, MCTP));
      assert.equal((await c.next()).command, 0xfffd);
      await c.closed;
    });
  });

  test('server: a 4 GiB announcement closes that connection; another keeps working', async () => {
    await withServer('pci_doe', async (server, errors) => {
      const good = await connectSpdmEmu({ port: server.port, transportType: 'pci_doe' });
      const bad = await rawClient(server.port);
      const huge = frame(1, DOE);
      new DataView(huge.buffer).setUint32(8, 0xffff_ffff);
      bad.sock.write(huge);
      await bad.closed;
      assert.ok(
        errors.some((e) => e.name === 'WireError' && (e as { kind?: string }).kind === 'too-large'),
      );
      const v = await good.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) });
      assert.equal(v.bytes[1], 0x04);
      await good.close();
    });
  });

  test('server: wrong transport type, undecodable payload, throwing handler each drop only that connection', async () => {
    let n = 0;
    await withServer(
      'mctp',
      async (server, errors) => {
        const good = await connectSpdmEmu({ port: server.port, transportType: 'mctp' });
        const mismatch = await rawClient(server.port);
        mismatch.sock.write(frame(0xdead, DOE, CLIENT_HELLO));
        await mismatch.closed;
        const pldm = await rawClient(server.port);
        pldm.sock.write(frame(1, MCTP, [0x01, 0x80, 0x02]));
        await pldm.closed;
        const boom = await connectSpdmEmu({
          port: server.port,
          transportType: 'mctp',
          timeoutMs: 1000,
        });
        await assert.rejects(
          boom.exchange({ secured: false, bytes: Uint8Array.of(0xee) }),
          (e: { code: string }) => ['closed', 'hangup-mid-frame'].includes(e.code),
        );
        const codes = errors.map((e) => (e as { code?: string }).code ?? e.message);
        assert.ok(codes.includes('transport-mismatch'), String(codes));
        assert.ok(codes.includes('bad-payload'), String(codes));
        assert.ok(codes.includes('boom'), String(codes));
        const v = await good.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) });
        assert.equal(v.bytes[1], 0x04);
        await good.close();
      },
      {
        onConnection: () => async (m) => {
          n++;
          if (m.bytes[0] === 0xee) throw new Error('boom');
          return responder(m);
        },
      },
    );
    assert.ok(n >= 2);
  });

  test('server: a requester hanging up mid-frame, and an idle one, are dropped', async () => {
    await withServer(
      'pci_doe',
      async (server, errors) => {
        const c = await rawClient(server.port);
        c.sock.end(frame(1, DOE, [1, 0, 0, 0]).subarray(0, 9));
        await c.closed;
        const idle = await rawClient(server.port);
        await idle.closed;
        const codes = errors.map((e) => (e as { code?: string }).code);
        assert.ok(codes.includes('hangup-mid-frame'), String(codes));
        assert.ok(codes.includes('timeout'), String(codes));
      },
      { idleTimeoutMs: 100 },
    );
  });

  test('server closes cleanly with clients connected; the client then reports closed', async () => {
    const server = await serveSpdmEmu({ transportType: 'mctp', onConnection: () => responder });
    const t = await connectSpdmEmu({ port: server.port, transportType: 'mctp' });
    await server.close();
    await assert.rejects(
      t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) }),
      (e: { code: string }) => ['closed', 'hangup-mid-frame'].includes(e.code),
    );
    await t.close();
  });
});

describe('spdm-emu socket: client against misbehaving responders', () => {
  test('a silent peer times out with a clear error', async () => {
    const fake = await fakeServer(() => {});
    try {
      const t0 = Date.now();
      await assert.rejects(
        connectSpdmEmu({ port: fake.port, transportType: 'pci_doe', timeoutMs: 150 }),
        (e: Error & { code: string }) => {
          assert.equal(e.name, 'TransportError');
          assert.equal(e.code, 'timeout');
          assert.match(e.message, /150 ms/);
          return true;
        },
      );
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      await fake.close();
    }
  });

  test('a peer that answers the hello and then goes silent: the exchange times out', async () => {
    const fake = await fakeServer((s) =>
      s.once('data', () => s.write(frame(0xdead, DOE, SERVER_HELLO))),
    );
    try {
      const t = await connectSpdmEmu({
        port: fake.port,
        transportType: 'pci_doe',
        timeoutMs: 2000,
      });
      await assert.rejects(
        t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) }, 100),
        {
          code: 'timeout',
        },
      );
      // The stream is out of step now: the transport refuses further use.
      await assert.rejects(t.exchange({ secured: false, bytes: Uint8Array.of(1) }), {
        code: 'timeout',
      });
      await t.close();
    } finally {
      await fake.close();
    }
  });

  test('a peer speaking another transport type', async () => {
    const fake = await fakeServer((s) =>
      s.once('data', () => s.write(frame(0xdead, MCTP, SERVER_HELLO))),
    );
    try {
      await assert.rejects(connectSpdmEmu({ port: fake.port, transportType: 'pci_doe' }), {
        code: 'transport-mismatch',
      });
    } finally {
      await fake.close();
    }
  });

  test('a peer with the wrong hello, and one that is not there', async () => {
    const fake = await fakeServer((s) =>
      s.once('data', () => s.write(frame(0xdead, DOE, CLIENT_HELLO))),
    );
    try {
      await assert.rejects(connectSpdmEmu({ port: fake.port, transportType: 'pci_doe' }), {
        code: 'handshake',
      });
    } finally {
      await fake.close();
    }
    await assert.rejects(
      connectSpdmEmu({ port: fake.port, transportType: 'pci_doe', timeoutMs: 1000 }),
      {
        code: 'closed',
      },
    );
  });

  test('a peer hanging up mid-frame', async () => {
    const fake = await fakeServer((s) => {
      s.once('data', () => {
        s.write(frame(0xdead, DOE, SERVER_HELLO));
        s.once('data', () =>
          s.end(frame(1, DOE, [1, 0, 1, 0, 3, 0, 0, 0, 0x10, 4, 0, 0]).subarray(0, 15)),
        );
      });
    });
    try {
      const t = await connectSpdmEmu({ port: fake.port, transportType: 'pci_doe' });
      await assert.rejects(t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) }), {
        code: 'hangup-mid-frame',
      });
    } finally {
      await fake.close();
    }
  });

  test('a peer answering NORMAL with UNKNOWN, or announcing an oversized frame', async () => {
    const fake = await fakeServer((s) => {
      s.once('data', () => {
        s.write(frame(0xdead, DOE, SERVER_HELLO));
        s.once('data', () => {
          s.write(frame(0xffff, DOE));
          s.once('data', () => {
            const huge = frame(1, DOE);
            new DataView(huge.buffer).setUint32(8, 0xffff_fff0);
            s.write(huge);
          });
        });
      });
    });
    try {
      const t = await connectSpdmEmu({ port: fake.port, transportType: 'pci_doe' });
      await assert.rejects(t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) }), {
        code: 'unexpected-command',
      });
      await assert.rejects(t.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) }), {
        code: 'bad-payload',
      });
      await t.close();
    } finally {
      await fake.close();
    }
  });
});
