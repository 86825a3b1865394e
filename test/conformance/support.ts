/**
 * teeio's own device served on 127.0.0.1 (port 0) for the conformance tests, and a target
 * pointing the suite at it. The device knows a pre-shared key (given to the target), so
 * the PSK session cases run too.
 */
import type { Target } from '../../src/conformance/index.ts';
import type { Behaviour, BehaviourName } from '../../src/device/dsm/behaviour.ts';
import type { ResponderConfig } from '../../src/spdm/config.ts';
import type { Binding } from '../../src/transport/types.ts';
import { createTdispDevice } from '../../src/world/tdisp-device.ts';

export const TEST_PSK = {
  hint: new TextEncoder().encode('teeio-conformance'),
  key: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
};

export interface ServeOptions {
  /** The SPDM responder's configuration beyond versions and the PSK. */
  responder?: Partial<ResponderConfig>;
  /** DSM behaviour switches turned (seeded flaws). */
  overrides?: Partial<Omit<Behaviour, 'name'>>;
}

export async function serveDevice(
  behaviour: BehaviourName,
  binding: Binding = 'pci_doe',
  versions?: number[],
  o: ServeOptions = {},
) {
  const dev = await createTdispDevice({
    behaviour,
    enumerate: true,
    responderConfig: {
      psk: [{ hint: TEST_PSK.hint, psk: TEST_PSK.key }],
      ...(versions ? { versions } : {}),
      ...o.responder,
    },
    ...(o.overrides ? { dsm: { overrides: o.overrides } } : {}),
  });
  const server = await dev.serve({ host: '127.0.0.1', port: 0, transportType: binding });
  const target: Target = {
    host: '127.0.0.1',
    port: server.port,
    binding,
    trust: [dev.root],
    tdi: dev.tdis()[0].interfaceId,
    streamId: 0,
    portIndex: 0,
    timeoutMs: 5000,
    silenceMs: 400,
    psk: TEST_PSK,
  };
  return { dev, server, target };
}
