/**
 * RSASSA-PSS with a caller-chosen salt (RFC 8017 section 8.1.1: EMSA-PSS-ENCODE of
 * section 9.1.1 with MGF1 over the message hash, then RSASP1), for seeded runs that must
 * repeat byte for byte: node's sign draws the salt itself. The RSA private operation is
 * node's own (privateDecrypt with no padding is RSASP1 on a modulus-sized block).
 */
import { constants, createPrivateKey, type KeyObject, privateDecrypt } from 'node:crypto';
import { children, readTlv } from './der.ts';
import { CryptoError } from './errors.ts';
import { digest, type HashAlg, hashSize } from './hash.ts';

/** MGF1 (RFC 8017 appendix B.2.1): `length` bytes of Hash(seed || counter) blocks. */
export function mgf1(hash: HashAlg, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const counter = new Uint8Array(4);
  for (let off = 0, i = 0; off < length; i++) {
    new DataView(counter.buffer).setUint32(0, i);
    const block = digest(hash, seed, counter);
    out.set(block.subarray(0, Math.min(block.length, length - off)), off);
    off += block.length;
  }
  return out;
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 9.1.1) of `message` into emBits bits.
 * @throws RangeError when emBits is too small for the hash and salt ("encoding error").
 */
export function emsaPssEncode(
  hash: HashAlg,
  message: Uint8Array,
  salt: Uint8Array,
  emBits: number,
): Uint8Array {
  const hLen = hashSize(hash);
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + salt.length + 2) throw new RangeError('EMSA-PSS: encoding error');
  const mHash = digest(hash, message);
  const h = digest(hash, new Uint8Array(8), mHash, salt);
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  const em = new Uint8Array(emLen);
  em.set(db, 0);
  em.set(h, db.length);
  em[emLen - 1] = 0xbc;
  return em;
}

/**
 * node refuses the raw private operation on an 'rsa-pss' KeyObject; its PKCS #8 body is a
 * plain RSAPrivateKey (RFC 8017 A.1.2), so rebuild it as an 'rsa' key.
 */
function rawRsaKey(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType === 'rsa') return key;
  const pkcs8 = new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
  const body = children(readTlv(pkcs8).value)[2].value;
  return createPrivateKey({ key: Buffer.from(body), format: 'der', type: 'pkcs1' });
}

/**
 * RSASSA-PSS-SIGN (RFC 8017 8.1.1) with `salt`; MGF1 uses the message hash, as node's
 * sign and libspdm do.
 * @throws CryptoError('bad-key') for a key that is not an RSA private key.
 */
export function rsaPssSignWithSalt(
  key: KeyObject,
  hash: HashAlg,
  message: Uint8Array,
  salt: Uint8Array,
): Uint8Array {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.type !== 'private' || !bits || !/^rsa(-pss)?$/.test(key.asymmetricKeyType ?? '')) {
    throw new CryptoError('bad-key', `${key.type} ${key.asymmetricKeyType} key cannot sign PSS`);
  }
  const k = Math.ceil(bits / 8);
  const em = emsaPssEncode(hash, message, salt, bits - 1);
  const block = new Uint8Array(k);
  block.set(em, k - em.length);
  const raw = rawRsaKey(key);
  return new Uint8Array(privateDecrypt({ key: raw, padding: constants.RSA_NO_PADDING }, block));
}
