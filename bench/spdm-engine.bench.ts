/**
 * The SPDM engines end to end: one full connect in-process (a fresh SpdmRequester and
 * SpdmResponder over the in-process PCI DOE pair: VCA, GET_DIGESTS, the certificate chain,
 * signed MEASUREMENTS of all blocks, KEY_EXCHANGE, FINISH, END_SESSION with P-384 /
 * SHA-384 / secp384r1 / AES-256-GCM), against the floor: the same public-key and symmetric
 * operations done bare with node:crypto (2 ECDSA signs, 4 verifies for the two responder
 * signatures and the two chain links, 2 ECDH key pairs and secrets, the key schedule on
 * both sides, 8 AEAD operations). The ratio in-process / floor shows the engines' overhead.
 * The same connect over loopback TCP (a fresh spdm-emu socket connection each time, TEST
 * hello and SHUTDOWN included) shows what the socket adds.
 */
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { generateDeviceIdentity } from '../src/crypto/cert-build.ts';
import { requesterConfig } from '../src/spdm/config.ts';
import { SpdmRequester } from '../src/spdm/requester/requester.ts';
import { SpdmResponder } from '../src/spdm/responder/responder.ts';
import { createInProcessPair } from '../src/transport/in-process.ts';
import { connectSpdmEmu } from '../src/transport/spdm-emu-client.ts';
import { type SpdmEmuServer, serveSpdmEmu } from '../src/transport/spdm-emu-server.ts';
import type { RequesterTransport } from '../src/transport/types.ts';
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

// --- the floor: the same crypto, bare --------------------------------------------------

const keys = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const signOpts = (key: KeyObject) => ({ key, dsaEncoding: 'ieee-p1363' as const });
const block = new Uint8Array(148).fill(7);
const signature = sign('sha384', block, signOpts(keys.privateKey));

function hkdfExpand(prk: Buffer, info: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1; out.length * 48 < length; i++) {
    t = createHmac('sha384', prk)
      .update(Buffer.concat([t, info, Buffer.of(i)]))
      .digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HS, two handshake secrets, two finished keys, four key/iv, master, two data secrets + keys. */
function keySchedule(shared: Buffer): Buffer {
  const hs = createHmac('sha384', Buffer.alloc(48)).update(shared).digest();
  const th = createHash('sha384').update(shared).digest();
  let last: Buffer = hs;
  for (const label of ['req hs data', 'rsp hs data']) {
    const secret = hkdfExpand(hs, Buffer.from(label + th.toString('hex')), 48);
    hkdfExpand(secret, Buffer.from('finished'), 48);
    hkdfExpand(secret, Buffer.from('key'), 32);
    last = hkdfExpand(secret, Buffer.from('iv'), 12);
  }
  const salt = hkdfExpand(hs, Buffer.from('derived'), 48);
  const ms = createHmac('sha384', salt).update(Buffer.alloc(48)).digest();
  for (const label of ['req app data', 'rsp app data']) {
    const secret = hkdfExpand(ms, Buffer.from(label + th.toString('hex')), 48);
    hkdfExpand(secret, Buffer.from('key'), 32);
    last = hkdfExpand(secret, Buffer.from('iv'), 12);
  }
  return last;
}

const aeadKey = Buffer.alloc(32, 1);
function aeadPair(): void {
  const iv = Buffer.alloc(12, 2);
  const c = createCipheriv('aes-256-gcm', aeadKey, iv);
  c.setAAD(Buffer.alloc(6));
  const ct = Buffer.concat([c.update(Buffer.alloc(54)), c.final()]);
  const tag = c.getAuthTag();
  const d = createDecipheriv('aes-256-gcm', aeadKey, iv);
  d.setAAD(Buffer.alloc(6));
  d.setAuthTag(tag);
  Buffer.concat([d.update(ct), d.final()]);
}

function floor(): void {
  // Responder: MEASUREMENTS and KEY_EXCHANGE_RSP signatures. Requester: verifies them and
  // the two chain links (intermediate by root, leaf by intermediate).
  sign('sha384', block, signOpts(keys.privateKey));
  sign('sha384', block, signOpts(keys.privateKey));
  for (let i = 0; i < 4; i++) verify('sha384', block, signOpts(keys.publicKey), signature);
  // Both ephemeral key pairs and shared secrets.
  const a = createECDH('secp384r1');
  const b = createECDH('secp384r1');
  a.generateKeys();
  b.generateKeys();
  const s1 = a.computeSecret(b.getPublicKey());
  b.computeSecret(a.getPublicKey());
  keySchedule(s1);
  keySchedule(s1);
  // FINISH, FINISH_RSP, END_SESSION, END_SESSION_ACK: sealed by one side, opened by the other.
  for (let i = 0; i < 4; i++) aeadPair();
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
    fn: floor,
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
