/**
 * The composed TDISP device served on the spdm-emu socket (127.0.0.1, ephemeral port), with
 * teeio's requester and TSM clients connecting over TCP on both transport types; and the
 * same lifecycle with libspdm's sample identity loaded on the device.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCertificates, loadPrivateKey } from '../../../src/crypto/cert-load.ts';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic, nvme } from '../../../src/device/profiles/index.ts';
import { doeDiscovery } from '../../../src/transport/doe-discovery.ts';
import { connectSpdmEmu } from '../../../src/transport/spdm-emu-client.ts';
import type { Binding } from '../../../src/transport/types.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';
import { vectorPath } from '../../support/captures.ts';
import { enumerate } from '../dsm/harness.ts';
import { runLifecycle } from './flow.ts';

const sample = (f: string) => vectorPath('libspdm-sample-keys', 'ecp384', f);

for (const binding of ['pci_doe', 'mctp'] as Binding[]) {
  describe(`composed TDISP device on the spdm-emu socket (${binding})`, () => {
    it('runs the whole lifecycle over TCP', async () => {
      const dev = await createTdispDevice({
        profile: nic,
        random: seededRandom(`sock-${binding}`),
      });
      const addresses = enumerate(dev.device);
      const server = await dev.serve({ transportType: binding, port: 0 });
      try {
        const transport = await connectSpdmEmu({ port: server.port, transportType: binding });
        if (binding === 'pci_doe') assert.equal((await doeDiscovery(transport)).length, 3);
        await runLifecycle({ transport, dev, addresses, fn: dev.tdis()[1].fn });
      } finally {
        await server.close();
      }
    });
  });
}

describe('composed TDISP device with libspdm sample identity', () => {
  it('serves bundle_responder.certchain.der signed by end_responder.key; verified against ca.cert.der', async () => {
    const dev = await createTdispDevice({
      profile: nvme,
      identity: {
        certChain: loadCertificates(sample('bundle_responder.certchain.der')),
        privateKey: loadPrivateKey(sample('end_responder.key')),
      },
      random: seededRandom('libspdm-identity'),
    });
    const [ca] = loadCertificates(sample('ca.cert.der'));
    assert.deepEqual(dev.root, ca);
    const addresses = enumerate(dev.device);
    const server = await dev.serve({ transportType: 'pci_doe', port: 0 });
    try {
      const transport = await connectSpdmEmu({ port: server.port, transportType: 'pci_doe' });
      await runLifecycle({ transport, dev, addresses, trust: ca });
    } finally {
      await server.close();
    }
    // And in-process through the DOE mailbox.
    await runLifecycle({ transport: dev.doeTransport(), dev, addresses, trust: ca });
  });
});
