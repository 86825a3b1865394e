/**
 * SIGTERM / SIGINT on `teeio responder` and `teeio device` (issue 15): the listener closes,
 * a connection in the middle of an SPDM session gets the frame in hand answered and then a
 * clean end (FIN, never a reset), and the process prints its closing line and exits 0
 * within a bounded time.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { requesterConfig } from '../../src/spdm/config.ts';
import { SpdmRequester } from '../../src/spdm/requester/requester.ts';
import { connectSpdmEmu } from '../../src/transport/spdm-emu-client.ts';
import { TransportError } from '../../src/transport/types.ts';
import {
  encodeFrame,
  SOCKET_CLIENT_HELLO,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_SPDM_COMMAND_TEST,
  SocketFrameParser,
} from '../../src/wire/socket.ts';
import { startServer } from './teeio-child.ts';

/** A bare TCP connection that said hello: what it saw when the server went away. */
async function helloSocket(port: number) {
  const sock = connect({ host: '127.0.0.1', port });
  const seen = { end: false, error: undefined as string | undefined };
  sock.on('error', (e: NodeJS.ErrnoException) => {
    seen.error = e.code ?? e.message;
  });
  sock.on('end', () => {
    seen.end = true;
    sock.end(); // close our side too, as a well-behaved requester does
  });
  await once(sock, 'connect');
  sock.write(
    encodeFrame({
      command: SOCKET_SPDM_COMMAND_TEST,
      transportType: 2,
      payload: SOCKET_CLIENT_HELLO,
    }),
  );
  await once(sock, 'data');
  sock.resume();
  return { sock, seen, closed: once(sock, 'close') };
}

/** DOE-wrapped GET_VERSION frames, `n` of them back to back. */
function flood(n: number): Uint8Array {
  const doe = Uint8Array.of(1, 0, 1, 0, 3, 0, 0, 0, 0x10, 0x84, 0, 0);
  const one = encodeFrame({ command: SOCKET_SPDM_COMMAND_NORMAL, transportType: 2, payload: doe });
  const out = new Uint8Array(one.length * n);
  for (let i = 0; i < n; i++) out.set(one, i * one.length);
  return out;
}

describe('teeio responder / device: graceful shutdown on a signal', () => {
  it('device on SIGTERM in the middle of 20,000 pipelined requests: whole replies, then a FIN', async () => {
    const srv = await startServer('device', []);
    const bare = await helloSocket(srv.port);
    const parser = new SocketFrameParser();
    let replies = 0;
    bare.sock.on('data', (d: Buffer) => {
      replies += parser.push(d).length;
    });
    bare.sock.write(flood(20_000));
    while (replies < 10) await new Promise((r) => setTimeout(r, 5));
    srv.child.kill('SIGTERM');
    const done = await srv.done;
    assert.equal(done.code, 0, done.stderr);
    await bare.closed;
    assert.equal(bare.seen.error, undefined, 'no reset');
    assert.equal(bare.seen.end, true);
    assert.equal(parser.midFrame, false, 'no reply cut in half');
    assert.ok(replies < 20_000, `${replies} replies: the shutdown came mid-flood`);
  });

  for (const [command, signal] of [
    ['responder', 'SIGTERM'],
    ['device', 'SIGTERM'],
    ['device', 'SIGINT'],
  ] as const) {
    it(`${command} on ${signal}: sessions end cleanly, exit 0`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'teeio-shutdown-'));
      const root = join(dir, 'root.der');
      const srv = await startServer(command, ['--write-root', root]);
      const client = await connectSpdmEmu({ port: srv.port, transportType: 'pci_doe' });
      const rq = new SpdmRequester(
        client,
        requesterConfig({ trustAnchors: [new Uint8Array(readFileSync(root))] }),
      );
      await rq.connect();
      await rq.getDigests();
      await rq.getCertificate(0);
      const session = await rq.startSession();
      const bare = await helloSocket(srv.port);

      const t0 = Date.now();
      srv.child.kill(signal);
      const done = await srv.done;
      const ms = Date.now() - t0;
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, new RegExp(`closed \\(${signal}`));
      assert.ok(ms < 5000, `exited after ${ms} ms`);

      // The bare connection saw a FIN, not a reset.
      await bare.closed;
      assert.equal(bare.seen.end, true, 'the server ended the connection');
      assert.equal(bare.seen.error, undefined);
      // The requester's next exchange in its session finds the connection closed.
      await assert.rejects(
        rq.sendRaw(Uint8Array.of(0x12, 0x81, 0, 0), session),
        (e) => e instanceof TransportError && e.code === 'closed',
      );
      await rq.close().catch(() => undefined);
    });
  }
});
