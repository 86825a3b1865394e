/**
 * The requester's verified-chain cache (DSP0274 1.3 section 10.6: a chain already held for
 * the digest DIGESTS shows need not be read again): a second connection sends no
 * GET_CERTIFICATE and still runs signed MEASUREMENTS and a session with the cached leaf
 * key; a changed digest is read and verified; a chain that does not verify is never
 * cached; a tampered chain behind the genuine digest is refused; the key holds the trust
 * anchors and the leaf policy; the cache is bounded and honours validity.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { generateDeviceIdentity } from '../../src/crypto/cert-build.ts';
import {
  type RequesterOptions,
  SpdmVerifyError,
  VerifiedChainCache,
} from '../../src/spdm/requester/index.ts';
import { toHex } from '../../src/wire/hex.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import {
  flip,
  generatedIdentity,
  makePair,
  sampleIdentity,
  type Tamper,
  type TestIdentity,
} from './requester-support.ts';

/** Counts the plain requests on the wire by request code. */
function wireCounter(): { tamper: Tamper; count: (code: number) => number } {
  const seen: number[] = [];
  return {
    tamper: {
      request(m) {
        if (!m.secured) seen.push(m.bytes[1]);
        return undefined;
      },
    },
    count: (code) => seen.filter((c) => c === code).length,
  };
}

interface Connection {
  getCertificates: number;
  hash: Uint8Array;
  subject: string;
}

/**
 * One connection as `teeio requester` runs it: VCA, DIGESTS, the slot 0 chain, CHALLENGE,
 * signed MEASUREMENTS and a session, ended.
 */
async function connectOnce(
  identity: TestIdentity,
  options: RequesterOptions,
  trustAnchors: Uint8Array[] = [identity.root],
  tamper?: Tamper,
): Promise<Connection> {
  const wire = wireCounter();
  const combined: Tamper = {
    request: (m, i) => {
      wire.tamper.request!(m, i);
      return tamper?.request?.(m, i);
    },
    response: tamper?.response,
  };
  const { requester: r } = makePair({
    identity,
    options,
    requester: { trustAnchors },
    tamper: combined,
  });
  await r.connect();
  const { digests } = await r.getDigests();
  const chain = await r.getCertificate(0);
  // The chain in use is the one DIGESTS named, whether read or cached.
  assert.equal(toHex(chain.hash), toHex(digests.get(0)!));
  // CHALLENGE_AUTH signs transcript B: both ends hold only what crossed the wire.
  assert.equal((await r.challenge(0, 'all')).slot, 0);
  const m = await r.getMeasurements({ index: 'all', signed: true });
  assert.equal(m.signed, true);
  const s = await r.startSession();
  assert.equal(s.phase, 'established');
  await r.endSession(s);
  await r.close();
  return {
    getCertificates: wire.count(C.SPDM_GET_CERTIFICATE),
    hash: chain.hash,
    subject: chain.subject,
  };
}

/** SHA-384 of the chain buffer built by hand: u16 length, reserved, RootHash, certificates. */
function chainDigest(certificates: Uint8Array[]): string {
  const rootHash = createHash('sha384').update(certificates[0]).digest();
  const body = Buffer.concat([rootHash, ...certificates]);
  const header = Buffer.alloc(4);
  header.writeUInt16LE(4 + body.length, 0);
  return createHash('sha384').update(header).update(body).digest('hex');
}

describe('requester verified-chain cache', () => {
  let id: TestIdentity;
  let other: TestIdentity;
  before(async () => {
    id = await generatedIdentity();
    other = sampleIdentity();
  });

  it('a second connection with the same digest sends no GET_CERTIFICATE', async () => {
    const chainCache = new VerifiedChainCache();
    const first = await connectOnce(id, { chainCache });
    assert.ok(first.getCertificates >= 2, 'the first connection reads the chain in portions');
    assert.equal(chainCache.size, 1);
    const second = await connectOnce(id, { chainCache });
    assert.equal(second.getCertificates, 0);
    assert.equal(toHex(second.hash), chainDigest(id.slot.certificates));
    // Without a cache every connection reads the chain.
    const uncached = await connectOnce(id, {});
    assert.equal(uncached.getCertificates, first.getCertificates);
  });

  it('a changed digest is read and verified, then both chains are cached', async () => {
    const chainCache = new VerifiedChainCache();
    const anchors = [id.root, other.root];
    await connectOnce(id, { chainCache }, anchors);
    const changed = await connectOnce(other, { chainCache }, anchors);
    assert.ok(changed.getCertificates > 0);
    assert.equal(toHex(changed.hash), chainDigest(other.slot.certificates));
    assert.equal(chainCache.size, 2);
    const again = await connectOnce(id, { chainCache }, anchors);
    assert.equal(again.getCertificates, 0);
    assert.equal(toHex(again.hash), chainDigest(id.slot.certificates));
  });

  it('a chain that does not verify is not cached, so the next connection reads it again', async () => {
    const chainCache = new VerifiedChainCache();
    for (let i = 0; i < 2; i++) {
      const wire = wireCounter();
      const { requester: r } = makePair({
        identity: id,
        options: { chainCache },
        requester: { trustAnchors: [other.root] },
        tamper: wire.tamper,
      });
      await r.connect();
      await r.getDigests();
      await assert.rejects(
        r.getCertificate(0),
        (e) => e instanceof SpdmVerifyError && e.what === 'certificate-chain',
      );
      assert.ok(wire.count(C.SPDM_GET_CERTIFICATE) > 0);
      assert.equal(chainCache.size, 0);
    }
  });

  it('a chain verified under other trust anchors is not found: read, and refused', async () => {
    const chainCache = new VerifiedChainCache();
    await connectOnce(id, { chainCache }, [id.root, other.root]);
    const wire = wireCounter();
    const { requester: r } = makePair({
      identity: id,
      options: { chainCache },
      requester: { trustAnchors: [other.root] },
      tamper: wire.tamper,
    });
    await r.connect();
    await r.getDigests();
    await assert.rejects(
      r.getCertificate(0),
      (e) => e instanceof SpdmVerifyError && e.what === 'certificate-chain',
    );
    assert.ok(wire.count(C.SPDM_GET_CERTIFICATE) > 0);
    // Nor under a leaf policy it was not checked against.
    const strict = wireCounter();
    const p = makePair({
      identity: id,
      options: { chainCache, leaf: { deviceInfoSan: true } },
      requester: { trustAnchors: [id.root, other.root] },
      tamper: strict.tamper,
    });
    await p.requester.connect();
    await p.requester.getDigests();
    await assert.rejects(
      p.requester.getCertificate(0),
      (e) => e instanceof SpdmVerifyError && e.what === 'certificate-chain',
    );
    assert.ok(strict.count(C.SPDM_GET_CERTIFICATE) > 0);
  });

  it('a tampered chain behind the genuine digest is refused and not cached', async () => {
    const chainCache = new VerifiedChainCache();
    // DIGESTS stays the genuine one; the last portion's leaf signature is flipped.
    const tamper: Tamper = {
      response: (m) =>
        !m.secured && m.bytes[1] === C.SPDM_CERTIFICATE && m.bytes[6] === 0 && m.bytes[7] === 0
          ? {
              secured: false,
              bytes: flip(m.bytes.subarray(0, m.bytes.length - (m.maxPad ?? 0)), -5),
            }
          : undefined,
    };
    await assert.rejects(
      connectOnce(id, { chainCache }, [id.root], tamper),
      (e) => e instanceof SpdmVerifyError && e.what === 'certificate-chain',
    );
    assert.equal(chainCache.size, 0);
    // The genuine chain is then read in full: nothing was kept under its digest.
    const honest = await connectOnce(id, { chainCache });
    assert.ok(honest.getCertificates > 0);
  });

  it('an impostor serving the cached chain without its key fails at the signature', async () => {
    const chainCache = new VerifiedChainCache();
    await connectOnce(id, { chainCache });
    const impostorKey = (await generateDeviceIdentity({ asym: 'ecdsa-p384' })).leaf.privateKey;
    const impostor: TestIdentity = {
      root: id.root,
      slot: { certificates: id.slot.certificates, privateKey: impostorKey },
    };
    const wire = wireCounter();
    const { requester: r } = makePair({
      identity: impostor,
      options: { chainCache },
      tamper: wire.tamper,
    });
    await r.connect();
    await r.getDigests();
    await r.getCertificate(0);
    assert.equal(wire.count(C.SPDM_GET_CERTIFICATE), 0);
    await assert.rejects(
      r.getMeasurements({ index: 'all', signed: true }),
      (e) => e instanceof SpdmVerifyError && e.what === 'measurements-signature',
    );
    await assert.rejects(
      r.startSession(),
      (e) => e instanceof SpdmVerifyError && e.what === 'key-exchange-signature',
    );
    assert.equal(r.sessions.length, 0);
  });

  it('an expired cached chain is not used: read and refused at that time', async () => {
    const chainCache = new VerifiedChainCache();
    await connectOnce(id, { chainCache });
    const later = new Date(Date.now() + 20 * 365 * 86400_000);
    const wire = wireCounter();
    const { requester: r } = makePair({
      identity: id,
      options: { chainCache, verifyAt: later },
      tamper: wire.tamper,
    });
    await r.connect();
    await r.getDigests();
    await assert.rejects(
      r.getCertificate(0),
      (e) => e instanceof SpdmVerifyError && /expired/.test(e.detail),
    );
    assert.ok(wire.count(C.SPDM_GET_CERTIFICATE) > 0);
    assert.equal(chainCache.size, 0, 'the expired entry is dropped');
  });

  it('is bounded: the least recently used chain goes first', async () => {
    const chainCache = new VerifiedChainCache(1);
    const anchors = [id.root, other.root];
    await connectOnce(id, { chainCache }, anchors);
    await connectOnce(other, { chainCache }, anchors);
    assert.equal(chainCache.size, 1);
    assert.ok((await connectOnce(id, { chainCache }, anchors)).getCertificates > 0);
    assert.throws(() => new VerifiedChainCache(0), RangeError);
  });
});
