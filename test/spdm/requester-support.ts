/**
 * Shared setup of the requester tests: identities (libspdm's sample P-384 chain and key,
 * or a generated one), an in-process teeio requester <-> teeio responder pair, and a
 * tampering transport wrapper that sits between them like a machine in the middle.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DeviceIdentity, generateDeviceIdentity } from '../../src/crypto/cert-build.ts';
import { loadCertificates, loadPrivateKey } from '../../src/crypto/cert-load.ts';
import {
  type RequesterConfig,
  type ResponderConfig,
  requesterConfig,
  type SlotIdentity,
} from '../../src/spdm/config.ts';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import { type RequesterOptions, SpdmRequester } from '../../src/spdm/requester/index.ts';
import { SpdmResponder } from '../../src/spdm/responder/index.ts';
import { createInProcessPair } from '../../src/transport/in-process.ts';
import type { Binding, RequesterTransport, TransportMessage } from '../../src/transport/types.ts';
import { vectorPath } from '../support/captures.ts';

export interface TestIdentity {
  slot: SlotIdentity;
  /** The root a requester trusts. */
  root: Uint8Array;
}

/** libspdm's sample responder identity (ecp384): bundle_responder.certchain.der, end_responder.key, ca.cert.der. */
export function sampleIdentity(): TestIdentity {
  const dir = vectorPath('libspdm-sample-keys', 'ecp384');
  return {
    slot: {
      certificates: loadCertificates(join(dir, 'bundle_responder.certchain.der')),
      privateKey: loadPrivateKey(join(dir, 'end_responder.key')),
    },
    root: new Uint8Array(readFileSync(join(dir, 'ca.cert.der'))),
  };
}

let generated: Promise<DeviceIdentity> | undefined;

/** A generated P-384 identity (root -> intermediate -> leaf), made once per test file. */
export async function generatedIdentity(): Promise<TestIdentity> {
  generated ??= generateDeviceIdentity({ asym: 'ecdsa-p384', pcie: 'Vendor=1b36:Device=0010' });
  const id = await generated;
  return {
    slot: { certificates: id.certificates, privateKey: id.leaf.privateKey },
    root: id.root.certificate,
  };
}

/** What a machine in the middle may do to one exchange (i counts exchanges from 0). */
export interface Tamper {
  request?(m: TransportMessage, i: number): TransportMessage | undefined;
  response?(
    m: TransportMessage,
    i: number,
    request: TransportMessage,
  ): TransportMessage | undefined;
}

/** A RequesterTransport that lets `t` rewrite each request before and each response after `inner`. */
export function tampering(inner: RequesterTransport, t: Tamper): RequesterTransport {
  let i = 0;
  return {
    binding: inner.binding,
    async exchange(m, timeoutMs) {
      const k = i++;
      const q = t.request?.(m, k) ?? m;
      const r = await inner.exchange(q, timeoutMs);
      return t.response?.(r, k, q) ?? r;
    },
    close: () => inner.close(),
  };
}

/** A copy of `b` with bit 0 of byte `at` flipped (negative `at` counts from the end). */
export function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  out[at < 0 ? out.length + at : at] ^= 0x01;
  return out;
}

export interface PairOptions {
  binding?: Binding;
  identity: TestIdentity;
  responder?: Partial<ResponderConfig>;
  requester?: Partial<RequesterConfig>;
  options?: RequesterOptions;
  tamper?: Tamper;
  /** Wraps the responder's handler (ResponseNotReady, Busy, silence). */
  handler?: (
    inner: (m: TransportMessage) => Promise<TransportMessage | undefined>,
  ) => (m: TransportMessage) => Promise<TransportMessage | undefined>;
}

export interface Pair {
  requester: SpdmRequester;
  responder: SpdmResponder;
  events: SpdmEvent[];
  responderEvents: SpdmEvent[];
}

/** A teeio requester and a teeio responder over the in-process pair of `binding`. */
export function makePair(o: PairOptions): Pair {
  const binding = o.binding ?? 'pci_doe';
  const events: SpdmEvent[] = [];
  const responderEvents: SpdmEvent[] = [];
  const responder = new SpdmResponder(
    { slots: [o.identity.slot], ...o.responder, onEvent: (e) => responderEvents.push(e) },
    binding,
  );
  const base = async (m: TransportMessage) => responder.handle(m);
  const inner = createInProcessPair(binding, o.handler ? o.handler(base) : base);
  const transport = o.tamper ? tampering(inner, o.tamper) : inner;
  const requester = new SpdmRequester(
    transport,
    requesterConfig({
      trustAnchors: [o.identity.root],
      ...o.requester,
      onEvent: (e) => events.push(e),
    }),
    o.options,
  );
  return { requester, responder, events, responderEvents };
}

/** VCA, DIGESTS and the slot 0 chain: what every session needs first. */
export async function authenticate(r: SpdmRequester): Promise<void> {
  await r.connect();
  await r.getDigests();
  await r.getCertificate(0);
}

/** The names of the requester checks that failed. */
export function failedChecks(events: SpdmEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'verify' && e.verdict !== 'ok' ? [e.what] : []));
}
