/**
 * The spdm-emu server serves connections fairly (issue 15): a requester that pipelines
 * thousands of requests, or sends them and reads nothing, slows only itself; a requester
 * that sends its frames and half-closes gets every answer; the idle timeout and the cap on
 * connections close what they should. Servers run on 127.0.0.1, port 0; frames are built
 * here with DataView. Bounds are generous (the machine is shared): what is asserted is how
 * much of the pipeliner's work was done when the other exchange finished, not times.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connectSpdmEmu } from '../../src/transport/spdm-emu-client.ts';
import { type SpdmEmuServerOptions, serveSpdmEmu } from '../../src/transport/spdm-emu-server.ts';
import type { ResponderHandler } from '../../src/transport/types.ts';

const DOE = 2;
const NORMAL = 1;
const HEADER = 12;

function frame(command: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, command);
  v.setUint32(4, DOE);
  v.setUint32(8, payload.length);
  out.set(payload, HEADER);
  return out;
}

/** A DOE object (PCI-SIG, type 1 SPDM) around a 4-byte GET_VERSION. */
const DOE_GET_VERSION = Uint8Array.of(0x01, 0x00, 0x01, 0x00, 3, 0, 0, 0, 0x10, 0x84, 0, 0);

/** `n` NORMAL frames of GET_VERSION back to back. */
function pipelined(n: number): Buffer {
  const one = frame(NORMAL, DOE_GET_VERSION);
  return Buffer.concat(Array.from({ length: n }, () => one));
}

/** A handler that burns `us` microseconds per message, then answers a `size`-byte message. */
function costly(us: number, size: number, calls: { n: number }): ResponderHandler {
  const reply = new Uint8Array(size);
  reply.set([0x10, 0x04, 0, 0]);
  return async () => {
    calls.n++;
    const until = performance.now() + us / 1000;
    while (performance.now() < until) {
      // the work of an expensive request (a signature)
    }
    return { secured: false, bytes: reply };
  };
}

/** Counts the frames (of any size) a raw socket receives. */
function frameCounter(sock: Socket) {
  const state = { frames: 0, pending: Buffer.alloc(0) };
  sock.on('data', (chunk: Buffer) => {
    let buf = state.pending.length ? Buffer.concat([state.pending, chunk]) : chunk;
    while (buf.length >= HEADER) {
      const size = buf.readUInt32BE(8);
      if (buf.length < HEADER + size) break;
      buf = buf.subarray(HEADER + size);
      state.frames++;
    }
    state.pending = Buffer.from(buf);
  });
  return state;
}

async function rawSocket(port: number): Promise<Socket> {
  const sock = connect({ host: '127.0.0.1', port });
  sock.on('error', () => {});
  await once(sock, 'connect');
  return sock;
}

async function server(opts: Partial<SpdmEmuServerOptions> & { handler: ResponderHandler }) {
  return serveSpdmEmu({ transportType: 'pci_doe', onConnection: () => opts.handler, ...opts });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

describe('spdm-emu server: one connection cannot starve the others', () => {
  it('a GET_VERSION on another connection is answered while a pipeliner has most of 10,000 requests outstanding', async () => {
    const calls = { n: 0 };
    const srv = await server({ handler: costly(200, 15, calls) });
    const N = 10_000;
    try {
      const pipeliner = await rawSocket(srv.port);
      const got = frameCounter(pipeliner);
      pipeliner.write(pipelined(N));
      assert.ok(await until(() => calls.n > 0, 20_000), 'the pipeliner is being served');
      const other = await connectSpdmEmu({
        port: srv.port,
        transportType: 'pci_doe',
        timeoutMs: 60_000,
      });
      const reply = await other.exchange({
        secured: false,
        bytes: Uint8Array.of(0x10, 0x84, 0, 0),
      });
      const servedMeanwhile = calls.n;
      assert.equal(reply.bytes[1], 0x04);
      await other.close();
      // Before the fix, each 64 KiB read (2,700 frames) was answered in one go, and the
      // connect, hello and exchange each waited for one: over 8,000 of the 10,000.
      assert.ok(
        servedMeanwhile < N / 2,
        `${servedMeanwhile} of ${N} pipelined requests were answered before the other exchange`,
      );
      // And the pipeliner itself still gets every answer, in full.
      assert.ok(await until(() => got.frames === N, 120_000), `${got.frames} of ${N} answers`);
      pipeliner.destroy();
    } finally {
      await srv.close();
    }
  });

  it('a requester that does not read its answers stops being served until it does', async () => {
    const calls = { n: 0 };
    const srv = await server({ handler: costly(0, 16 * 1024, calls) });
    const N = 2_000; // 32 MiB of answers: far more than the socket buffers hold
    try {
      const sock = await rawSocket(srv.port);
      sock.pause();
      sock.write(pipelined(N));
      // The server answers until the kernel's and its own buffers fill, then waits.
      let last = -1;
      while (calls.n !== last) {
        last = calls.n;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(calls.n < N / 2, `${calls.n} of ${N} answered to a requester reading nothing`);
      const got = frameCounter(sock);
      sock.resume();
      assert.ok(await until(() => got.frames === N, 120_000), `${got.frames} of ${N} answers`);
      assert.equal(calls.n, N);
      sock.destroy();
    } finally {
      await srv.close();
    }
  });

  it('frames sent before a half-close are all answered, then the server closes', async () => {
    const calls = { n: 0 };
    const srv = await server({ handler: costly(0, 15, calls) });
    try {
      const sock = await rawSocket(srv.port);
      const got = frameCounter(sock);
      const closed = once(sock, 'close');
      sock.end(pipelined(500));
      await closed;
      assert.equal(got.frames, 500);
    } finally {
      await srv.close();
    }
  });

  it('a half-close inside a frame drops the connection with hangup-mid-frame', async () => {
    const errors: string[] = [];
    const srv = await server({
      handler: costly(0, 15, { n: 0 }),
      onError: (e) => errors.push(e.message),
    });
    try {
      const sock = await rawSocket(srv.port);
      sock.resume(); // read (and drop) the two answers, so that the close is seen
      const closed = once(sock, 'close');
      sock.end(pipelined(3).subarray(0, 2 * 24 + 5));
      await closed;
      assert.ok(await until(() => errors.length > 0, 5_000));
      assert.match(errors[0], /hangup-mid-frame/);
    } finally {
      await srv.close();
    }
  });
});

describe('spdm-emu server: connection limits', () => {
  it('closes a connection idle for idleTimeoutMs, silent or inside a frame', async () => {
    const errors: string[] = [];
    const srv = await server({
      handler: costly(0, 15, { n: 0 }),
      idleTimeoutMs: 200,
      onError: (e) => errors.push(e.message),
    });
    try {
      const silent = await rawSocket(srv.port);
      const midFrame = await rawSocket(srv.port);
      silent.resume();
      midFrame.resume();
      midFrame.write(pipelined(1).subarray(0, 7));
      await Promise.all([once(silent, 'close'), once(midFrame, 'close')]);
      assert.equal(errors.filter((e) => /timeout: idle for 200 ms/.test(e)).length, 2);
      assert.ok(await until(() => srv.connections === 0, 5_000));
    } finally {
      await srv.close();
    }
  });

  it('closes the connection past maxConnections at once and says so; a freed place is used again', async () => {
    const refused: Array<[string, number]> = [];
    const srv = await server({
      handler: costly(0, 15, { n: 0 }),
      maxConnections: 2,
      onRefused: (remote, open) => refused.push([remote, open]),
    });
    try {
      const a = await rawSocket(srv.port);
      const b = await rawSocket(srv.port);
      assert.ok(await until(() => srv.connections === 2, 5_000));
      const c = await rawSocket(srv.port);
      c.resume();
      await once(c, 'close');
      assert.equal(refused.length, 1);
      assert.match(refused[0][0], /^127\.0\.0\.1:\d+$/);
      assert.equal(refused[0][1], 2);
      a.destroy();
      assert.ok(await until(() => srv.connections === 1, 5_000));
      const client = await connectSpdmEmu({ port: srv.port, transportType: 'pci_doe' });
      await client.close();
      b.destroy();
    } finally {
      await srv.close();
    }
  });
});
