/**
 * teeio's own device served on 127.0.0.1 (port 0) for the conformance tests, and a target
 * pointing the suite at it.
 */
import type { Target } from '../../src/conformance/index.ts';
import type { BehaviourName } from '../../src/device/dsm/behaviour.ts';
import type { Binding } from '../../src/transport/types.ts';
import { createTdispDevice } from '../../src/world/tdisp-device.ts';

export async function serveDevice(
  behaviour: BehaviourName,
  binding: Binding = 'pci_doe',
  versions?: number[],
) {
  const dev = await createTdispDevice({
    behaviour,
    enumerate: true,
    ...(versions ? { responderConfig: { versions } } : {}),
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
  };
  return { dev, server, target };
}
