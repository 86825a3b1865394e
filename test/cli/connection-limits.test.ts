/**
 * --idle-timeout and --max-connections of `teeio responder` and `teeio device`: a place
 * past the cap is closed at once with a line naming the cap; a silent connection is closed
 * after the idle timeout; bad values are refused with one line and exit code 2.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { startServer, teeio } from './teeio-child.ts';

async function rawSocket(port: number) {
  const sock = connect({ host: '127.0.0.1', port });
  sock.on('error', () => {});
  await once(sock, 'connect');
  sock.resume();
  return sock;
}

describe('teeio responder / device connection limits', () => {
  for (const command of ['responder', 'device']) {
    it(`${command}: the cap refuses with a line naming it; an idle connection is closed`, async () => {
      const srv = await startServer(command, ['--idle-timeout', '0.5', '--max-connections', '1']);
      let out = '';
      srv.child.stdout!.on('data', (d) => {
        out += d;
      });
      try {
        const first = await rawSocket(srv.port);
        const firstClosed = once(first, 'close');
        await new Promise((r) => setTimeout(r, 100));
        const second = await rawSocket(srv.port);
        await once(second, 'close');
        await firstClosed; // idle for 0.5 s
        assert.match(
          out,
          /refused a connection from 127\.0\.0\.1:\d+: 1 connections open, the --max-connections cap is 1/,
        );
      } finally {
        srv.child.kill('SIGTERM');
        await srv.done;
      }
    });
  }

  it('refuses bad values with exit code 2', async () => {
    const a = await teeio(['responder', '--idle-timeout', 'soon']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--idle-timeout: "soon" is not 0\.\.86400 seconds/);
    const b = await teeio(['device', '--max-connections', '0']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--max-connections: "0" is not 1\.\.1000000/);
  });
});
