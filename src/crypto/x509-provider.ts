/**
 * @peculiar/x509 wired to node's WebCrypto.
 *
 * @peculiar/x509 resolves its algorithm classes through tsyringe, which needs the Reflect
 * metadata polyfill loaded first. Import `x509` from here, never from '@peculiar/x509'.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

const x509 = await import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto as never);

export { x509 };
