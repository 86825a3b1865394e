/**
 * The session flow libspdm's requester runs by default (spdm-emu spdm_requester_session.c:
 * start_session = KEY_EXCHANGE + FINISH, then HEARTBEAT, KEY_UPDATE, END_SESSION), with
 * spdm-emu's default requester capability flags, against `teeio responder` and
 * `teeio device` started with their default options over the spdm-emu socket. Before issue
 * 7 the responder's HeartbeatPeriod 0 made libspdm refuse the HEARTBEAT step.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requesterConfig } from '../../src/spdm/config.ts';
import { SpdmRequester } from '../../src/spdm/requester/index.ts';
import { connectSpdmEmu } from '../../src/transport/spdm-emu-client.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { startServer } from '../cli/teeio-child.ts';

const F = C.SPDM_CAP;
/** spdm-emu's default requester flags (spdm_emu_common/key.c m_use_requester_capability_flags). */
const SPDM_EMU_REQUESTER_FLAGS =
  F.CERT_CAP |
  F.CHAL_CAP |
  F.ENCRYPT_CAP |
  F.MAC_CAP |
  F.MUT_AUTH_CAP |
  F.KEY_EX_CAP |
  F.PSK_CAP_RESPONDER |
  F.ENCAP_CAP |
  F.HBEAT_CAP |
  F.KEY_UPD_CAP |
  F.HANDSHAKE_IN_THE_CLEAR_CAP |
  F.CHUNK_CAP |
  F.MULTI_KEY_CAP_NEG |
  F.EP_INFO_CAP_SIG |
  F.LARGE_RESP_CAP;

const tmp = mkdtempSync(join(tmpdir(), 'teeio-libspdm-flow-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("libspdm's default session flow against teeio's servers", () => {
  for (const command of ['responder', 'device']) {
    it(`teeio ${command}: KEY_EXCHANGE, FINISH, HEARTBEAT, KEY_UPDATE, END_SESSION`, async () => {
      const root = join(tmp, `${command}-root.der`);
      const server = await startServer(command, ['--write-root', root]);
      try {
        const transport = await connectSpdmEmu({ port: server.port, transportType: 'pci_doe' });
        const r = new SpdmRequester(
          transport,
          requesterConfig({
            capabilities: SPDM_EMU_REQUESTER_FLAGS,
            trustAnchors: [new Uint8Array(readFileSync(root))],
          }),
        );
        try {
          const { negotiated } = await r.connect();
          assert.equal(negotiated.version, C.SPDM_VERSION_13);
          await r.getDigests();
          await r.getCertificate(0);
          const s = await r.startSession();
          // spdm-emu's responder period, the default of both servers.
          assert.equal(s.heartbeatPeriod, 240);
          await r.heartbeat(s);
          await r.keyUpdate(s, 'update-all-keys');
          await r.keyUpdate(s, 'update-key');
          await r.heartbeat(s);
          await r.endSession(s);
          assert.deepEqual(r.sessions, []);
        } finally {
          await r.close();
        }
      } finally {
        server.child.kill('SIGTERM');
        await server.done;
      }
    });
  }
});
