/**
 * The crypto floor of one SPDM session flow (VCA, GET_DIGESTS, the certificate chain, signed
 * MEASUREMENTS of all blocks, KEY_EXCHANGE, FINISH, END_SESSION with P-384 / SHA-384 /
 * secp384r1 / AES-256-GCM): the same public-key and symmetric operations done bare with
 * node:crypto (2 ECDSA signs, the verifies of the two responder signatures and of the chain
 * links, 2 ECDH key pairs and secrets, the key schedule on both sides, 8 AEAD operations).
 * The benchmarks divide a flow's time by this to show what the engines add.
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

/**
 * The flow's public-key and symmetric operations, bare. `chainLinks`: the certificate
 * signatures the requester checks (2 for root -> intermediate -> leaf; 0 when the chain
 * came from the verified-chain cache).
 */
export function sessionCryptoFloor(chainLinks = 2): void {
  // Responder: MEASUREMENTS and KEY_EXCHANGE_RSP signatures. Requester: verifies them and
  // the chain links (intermediate by root, leaf by intermediate).
  sign('sha384', block, signOpts(keys.privateKey));
  sign('sha384', block, signOpts(keys.privateKey));
  for (let i = 0; i < 2 + chainLinks; i++) {
    verify('sha384', block, signOpts(keys.publicKey), signature);
  }
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
