/**
 * @peculiar/x509 wired to node's WebCrypto.
 *
 * @peculiar/x509 resolves its algorithm classes through tsyringe, which refuses to load
 * without a Reflect metadata polyfill. Rather than add one as a dependency, this module
 * installs the three functions tsyringe calls (a WeakMap store; nothing else uses them)
 * before the library is imported. Import `x509` from here, never from '@peculiar/x509'.
 */
import { webcrypto } from 'node:crypto';

type MetaStore = WeakMap<object, Map<unknown, unknown>>;
const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const store: MetaStore = new WeakMap();
  const own = (target: object, create: boolean) => {
    let m = store.get(target);
    if (!m && create) {
      m = new Map();
      store.set(target, m);
    }
    return m;
  };
  R.defineMetadata = (key: unknown, value: unknown, target: object) => {
    own(target, true)!.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: object) => own(target, false)?.get(key);
  R.getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
      const m = own(t, false);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
}

const x509 = await import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto as never);

export { x509 };
