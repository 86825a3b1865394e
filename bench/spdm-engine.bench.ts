/**
 * The SPDM engines end to end: one full connect in-process (a fresh SpdmRequester and
 * SpdmResponder over the in-process PCI DOE pair: VCA, GET_DIGESTS, the certificate chain,
 * signed MEASUREMENTS of all blocks, KEY_EXCHANGE, FINISH, END_SESSION with P-384 /
 * SHA-384 / secp384r1 / AES-256-GCM), against the floor: the same public-key and symmetric
 * operations done bare with node:crypto (crypto-floor.ts). The ratio in-process / floor
 * shows the engines' overhead.
 * The same connect over loopback TCP (a fresh spdm-emu socket connection each time, TEST
 * hello and SHUTDOWN included) shows what the socket adds.
 */
import { generateDeviceIdentity } from '../src/crypto/cert-build.ts';
import { requesterConfig } from '../src/spdm/config.ts';
import { SpdmRequester } from '../src/spdm/requester/requester.ts';
import { SpdmResponder } from '../src/spdm/responder/responder.ts';
import { createInProcessPair } from '../src/transport/in-process.ts';
import { connectSpdmEmu } from '../src/transport/spdm-emu-client.ts';
import { type SpdmEmuServer, serveSpdmEmu } from '../src/transport/spdm-emu-server.ts';
import type { RequesterTransport } from '../src/transport/types.ts';
import { sessionCryptoFloor } from './crypto-floor.ts';
import type { BenchCase, BenchRatio } from './harness.ts';

let identity: Awaited<ReturnType<typeof generateDeviceIdentity>> | undefined;

function newResponder(): SpdmResponder {
  if (!identity) throw new Error('bench: identity not generated');
  return new SpdmResponder(
    { slots: [{ certificates: identity.certificates, privateKey: identity.leaf.privateKey }] },
    'pci_doe',
  );
}

async function fullConnect(): Promise<void> {
  const responder = newResponder();
  await flow(createInProcessPair('pci_doe', async (m) => responder.handle(m)));
}

/** The connect itself, over any transport. */
async function flow(transport: RequesterTransport): Promise<void> {
  const requester = new SpdmRequester(
    transport,
    requesterConfig({ trustAnchors: [identity!.root.certificate] }),
  );
  await requester.connect();
  await requester.getDigests();
  await requester.getCertificate(0);
  await requester.getMeasurements({ index: 'all', signed: true });
  const s = await requester.startSession();
  await requester.endSession(s);
  await requester.close();
}

// --- the same over loopback TCP: the spdm-emu socket, a fresh connection per connect ---

let server: SpdmEmuServer | undefined;

async function fullConnectTcp(): Promise<void> {
  await flow(await connectSpdmEmu({ port: server!.port, transportType: 'pci_doe' }));
}

export const cases: BenchCase[] = [
  {
    group: 'spdm-engine',
    name: 'full connect in-process (P-384/SHA-384/AES-256-GCM)',
    before: async () => {
      identity ??= await generateDeviceIdentity({ asym: 'ecdsa-p384' });
    },
    fn: fullConnect,
  },
  {
    group: 'spdm-engine',
    name: 'full connect over loopback TCP (spdm-emu socket, pci_doe)',
    before: async () => {
      identity ??= await generateDeviceIdentity({ asym: 'ecdsa-p384' });
      server = await serveSpdmEmu({
        transportType: 'pci_doe',
        onConnection: () => {
          const responder = newResponder();
          return async (m) => responder.handle(m);
        },
      });
    },
    after: async () => {
      await server?.close();
      server = undefined;
    },
    fn: fullConnectTcp,
  },
  {
    group: 'spdm-engine',
    name: 'floor: the same crypto bare with node:crypto',
    fn: () => sessionCryptoFloor(),
  },
];

export const ratios: BenchRatio[] = [
  {
    name: 'full connect in-process / crypto floor',
    numerator: 'spdm-engine/full connect in-process (P-384/SHA-384/AES-256-GCM)',
    denominator: 'spdm-engine/floor: the same crypto bare with node:crypto',
    target: 1.25,
  },
];
