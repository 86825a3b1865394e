/**
 * @peculiar/x509 wired to node's WebCrypto.
 *
 * @peculiar/x509 resolves its algorithm classes through tsyringe, which needs the Reflect
 * metadata polyfill loaded first. Import `x509` from here, never from '@peculiar/x509'.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { RandomSource } from './random.ts';

const x509 = await import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto as never);

const bytesOf = (d: webcrypto.BufferSource): Uint8Array =>
  ArrayBuffer.isView(d)
    ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice()
    : new Uint8Array(d).slice();

/**
 * node's WebCrypto with two hooks, for issuing certificates in a seeded run: `sign` signs
 * the TBSCertificate (in WebCrypto's output format: r || s for ECDSA), and
 * getRandomValues draws from `random`. Pass it as the `crypto` argument of x509's create.
 */
export function hookedCrypto(sign: (data: Uint8Array) => Uint8Array, random: RandomSource) {
  const subtle = new Proxy(webcrypto.subtle, {
    get(target, p) {
      if (p === 'sign') {
        return async (_alg: unknown, _key: unknown, data: webcrypto.BufferSource) => {
          const sig = sign(bytesOf(data));
          return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength);
        };
      }
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const getRandomValues = <T extends ArrayBufferView | null>(a: T): T => {
    if (a) new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(random(a.byteLength));
    return a;
  };
  return { subtle, getRandomValues } as unknown as webcrypto.Crypto;
}

export { x509 };
