/**
 * The teeio requester and the teeio responder over the spdm-emu socket on 127.0.0.1
 * (ephemeral ports), as `teeio requester` and `teeio responder` talk: PCI_DOE and MCTP,
 * SPDM 1.2 and 1.3, libspdm's sample identity on the responder and its root trusted by the
 * requester. Each connection gets its own responder state; a session on one connection
 * does not exist on another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requesterConfig } from '../../src/spdm/config.ts';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import { SpdmRequester } from '../../src/spdm/requester/index.ts';
import { SpdmResponder } from '../../src/spdm/responder/index.ts';
import { trafficKeys } from '../../src/spdm/session.ts';
import { doeDiscovery } from '../../src/transport/doe-discovery.ts';
import { connectSpdmEmu } from '../../src/transport/spdm-emu-client.ts';
import { type SpdmEmuServer, serveSpdmEmu } from '../../src/transport/spdm-emu-server.ts';
import { type Binding, TransportError } from '../../src/transport/types.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { failedChecks, sampleIdentity } from './requester-support.ts';

for (const binding of ['pci_doe', 'mctp'] as Binding[]) {
  describe(`requester <-> responder over the spdm-emu socket (${binding})`, () => {
    const identity = sampleIdentity();
    let server: SpdmEmuServer;
    let served = 0;
    before(async () => {
      server = await serveSpdmEmu({
        transportType: binding,
        port: 0,
        onConnection: () => {
          const r = new SpdmResponder(
            { slots: [identity.slot], connectionId: ++served, heartbeatPeriod: 5 },
            binding,
          );
          return async (m) => r.handle(m);
        },
      });
    });
    after(() => server.close());

    const open = async (version?: number, events: SpdmEvent[] = []) => {
      const transport = await connectSpdmEmu({ port: server.port, transportType: binding });
      return new SpdmRequester(
        transport,
        requesterConfig({
          trustAnchors: [identity.root],
          ...(version ? { versions: [version] } : {}),
          onEvent: (e) => events.push(e),
        }),
      );
    };

    for (const version of [C.SPDM_VERSION_12, C.SPDM_VERSION_13]) {
      it(`SPDM 1.${version & 0xf}: VCA, chain, CHALLENGE, MEASUREMENTS, session, HEARTBEAT, KEY_UPDATE, END_SESSION`, async () => {
        const events: SpdmEvent[] = [];
        const r = await open(version, events);
        try {
          const { negotiated } = await r.connect();
          assert.equal(negotiated.version, version);
          assert.equal(negotiated.suite.hash, 'sha384');
          assert.equal(negotiated.suite.asym, 'ecdsa-p384');
          await r.getDigests();
          const chain = await r.getCertificate(0);
          assert.match(chain.subject, /DMTF libspdm ECP384 responder cert/);
          await r.challenge(0, 'all');
          await r.getMeasurements({ index: 'all' });
          const s = await r.startSession({ measurementSummaryHash: 'all' });
          assert.equal(s.heartbeatPeriod, 5);
          await r.heartbeat(s);
          await r.keyUpdate(s, 'update-all-keys');
          await r.getMeasurements({ index: 2, session: s });
          await r.endSession(s);
          assert.deepEqual(failedChecks(events), []);
        } finally {
          await r.close();
        }
      });
    }

    it('fresh connections are fresh responders: ten flows in a row', async () => {
      for (let i = 0; i < 10; i++) {
        const r = await open();
        await r.connect();
        await r.getCertificate(0);
        const s = await r.startSession();
        assert.equal(s.id >>> 16 !== 0, true);
        await r.endSession(s);
        await r.close();
      }
    });

    it('sessions are per connection: two connections, two sessions, each its own keys', async () => {
      const a = await open();
      const b = await open();
      try {
        for (const r of [a, b]) {
          await r.connect();
          await r.getCertificate(0);
        }
        const sa = await a.startSession();
        const sb = await b.startSession();
        // Each responder allocated the same id; the keys differ, each works at home only.
        assert.equal(sa.id, sb.id);
        assert.notDeepEqual(
          trafficKeys(sa.secured, 'request')?.key,
          trafficKeys(sb.secured, 'request')?.key,
        );
        await a.heartbeat(sa);
        await a.endSession(sa);
        await b.heartbeat(sb);
        await b.endSession(sb);
      } finally {
        await a.close();
        await b.close();
      }
    });

    if (binding === 'pci_doe') {
      it('DOE discovery before SPDM on the same connection', async () => {
        const transport = await connectSpdmEmu({ port: server.port, transportType: binding });
        const protocols = await doeDiscovery(transport);
        assert.deepEqual(
          protocols.map((p) => p.dataObjectType),
          [0, 1, 2],
        );
        const r = new SpdmRequester(transport, requesterConfig({ trustAnchors: [identity.root] }));
        await r.connect();
        await r.close();
      });
    }

    it('the other transport type is refused at the hello', async () => {
      const other: Binding = binding === 'mctp' ? 'pci_doe' : 'mctp';
      await assert.rejects(
        connectSpdmEmu({ port: server.port, transportType: other, timeoutMs: 2000 }),
        TransportError,
      );
    });
  });
}
