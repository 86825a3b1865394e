/**
 * A responder that exits on a frame of the wrong transport type (as libspdm's sample
 * server does): the suite reports the robustness case failed, says the responder no
 * longer accepts connections, skips what follows, and itself carries on to the report.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { runConformance } from '../../src/conformance/index.ts';

/** Answers the TEST hello and GET_VERSION over pci_doe; dies on any other transport type. */
function fragileServer(): Promise<{ port: number; closed: Promise<void> }> {
  const sockets = new Set<Socket>();
  let died: () => void;
  const closed = new Promise<void>((ok) => {
    died = ok;
  });
  const server = createServer((s) => {
    sockets.add(s);
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 12) {
        const command = buf.readUInt32BE(0);
        const type = buf.readUInt32BE(4);
        const size = buf.readUInt32BE(8);
        if (type !== 2) {
          for (const x of sockets) x.destroy();
          server.close(() => died());
          return;
        }
        if (buf.length < 12 + size) return;
        buf = buf.subarray(12 + size);
        const reply = (payload: Buffer) => {
          const h = Buffer.alloc(12);
          h.writeUInt32BE(command, 0);
          h.writeUInt32BE(2, 4);
          h.writeUInt32BE(payload.length, 8);
          s.write(Buffer.concat([h, payload]));
        };
        if (command === 0xdead) reply(Buffer.from('Server Hello!\0'));
        else if (command === 0xfffe) reply(Buffer.alloc(0));
        // DOE object: VERSION 1.2 only
        else reply(Buffer.from('0100010004000000100400000001001200000000', 'hex'));
      }
    });
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ port: (server.address() as { port: number }).port, closed }),
    ),
  );
}

it('a responder that dies on a wrong transport type: that case fails, the later ones skip, the suite survives', async () => {
  const { port, closed } = await fragileServer();
  const rs = await runConformance(
    {
      host: '127.0.0.1',
      port,
      binding: 'pci_doe',
      trust: [],
      streamId: 0,
      portIndex: 0,
      timeoutMs: 2000,
      silenceMs: 300,
    },
    { only: 'robustness.*' },
  );
  await closed;
  assert.equal(rs[0].id, 'robustness.wrong-transport-type');
  assert.equal(rs[0].outcome.status, 'fail');
  assert.match(
    rs[0].outcome.status === 'fail' ? rs[0].outcome.got : '',
    /no longer accepts connections/,
  );
  for (const r of rs.slice(1)) {
    assert.equal(r.outcome.status, 'skip', r.id);
    assert.match(
      r.outcome.status === 'skip' ? r.outcome.why : '',
      /stopped answering after robustness\.wrong-transport-type/,
    );
  }
});
