/**
 * What a hostile requester costs everybody else (issue 15), as figures:
 *
 * - GET_CERTIFICATE repeated on one connection with no GET_DIGESTS in between: the cost
 *   of one request after 5,000 and after 60,000 of them, measured in the same run, and
 *   the heap the connection holds after 60,000 (message B is bounded, so the two costs
 *   should be the same and the heap flat).
 * - Fairness of the spdm-emu socket server: a client pipelines thousands of CHALLENGE
 *   requests (a signature each) in one write and reads nothing; meanwhile a second
 *   connection does TEST hello + GET_VERSION. The figure is how long that exchange takes.
 *
 * TEEIO_HARDEN_SCALE (default 1) scales the request counts down for a quick look.
 */
import { connect } from 'node:net';
import { generateDeviceIdentity } from '../src/crypto/cert-build.ts';
import { requesterConfig } from '../src/spdm/config.ts';
import { SpdmRequester } from '../src/spdm/requester/requester.ts';
import { SpdmResponder } from '../src/spdm/responder/responder.ts';
import { encodeTransportPayload } from '../src/transport/binding.ts';
import { createInProcessPair } from '../src/transport/in-process.ts';
import { connectSpdmEmu } from '../src/transport/spdm-emu-client.ts';
import { serveSpdmEmu } from '../src/transport/spdm-emu-server.ts';
import {
  encodeFrame,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_TRANSPORT_TYPE_PCI_DOE,
} from '../src/wire/socket.ts';
import type { BenchCase, BenchFigure } from './harness.ts';

const SCALE = Number(process.env.TEEIO_HARDEN_SCALE ?? 1);

type Identity = Awaited<ReturnType<typeof generateDeviceIdentity>>;

function newResponder(identity: Identity): SpdmResponder {
  return new SpdmResponder(
    { slots: [{ certificates: identity.certificates, privateKey: identity.leaf.privateKey }] },
    'pci_doe',
  );
}

/**
 * The requests of a real connect up to `last` (recorded in-process), and the responder
 * that answered them: the prefix a raw client replays before it repeats one request.
 */
async function recorded(
  identity: Identity,
  last: (r: SpdmRequester) => Promise<unknown>,
): Promise<{ requests: Uint8Array[]; responder: SpdmResponder }> {
  const responder = newResponder(identity);
  const requests: Uint8Array[] = [];
  const pair = createInProcessPair('pci_doe', async (m) => {
    requests.push(m.bytes.slice());
    return responder.handle(m);
  });
  const requester = new SpdmRequester(
    pair,
    requesterConfig({ trustAnchors: [identity.root.certificate] }),
  );
  await requester.connect();
  await last(requester);
  return { requests, responder };
}

/** Mean microseconds of `n` calls of `fn`. */
function perCallUs(n: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1000) / n;
}

async function transcriptFigures(identity: Identity): Promise<BenchFigure[]> {
  // The last request of getCertificate(0) is a GET_CERTIFICATE of the chain's last portion.
  const { requests, responder } = await recorded(identity, (r) => r.getCertificate(0));
  const getCert = requests[requests.length - 1];
  const at = [Math.round(5000 * SCALE), Math.round(60000 * SCALE)];
  const window = Math.max(50, Math.round(500 * SCALE));
  const handle = () => responder.handle({ secured: false, bytes: getCert });
  const figures: BenchFigure[] = [];
  let done = 0;
  const heap0 = process.memoryUsage().heapUsed;
  let errors = 0;
  for (const n of at) {
    while (done < n - window) {
      const r = handle();
      if (r && r.bytes[1] === 0x7f) errors++;
      done++;
    }
    figures.push({
      name: `GET_CERTIFICATE, cost per request at ${n.toLocaleString('en-US')}`,
      value: perCallUs(window, handle),
      unit: 'us',
    });
    done += window;
  }
  globalThis.gc?.();
  figures.push({
    name: `GET_CERTIFICATE, heap growth after ${done.toLocaleString('en-US')}`,
    value: (process.memoryUsage().heapUsed - heap0) / 2 ** 20,
    unit: 'MiB',
  });
  figures.push({
    name: 'GET_CERTIFICATE, answered ERROR (message B full)',
    value: errors,
    unit: 'requests',
  });
  return figures;
}

async function fairnessFigures(identity: Identity): Promise<BenchFigure[]> {
  const { requests } = await recorded(identity, async (r) => {
    await r.getDigests();
    await r.getCertificate(0);
    await r.challenge(0);
  });
  const challenge = requests[requests.length - 1];
  const server = await serveSpdmEmu({
    transportType: 'pci_doe',
    onError: (e) => console.error('server:', e.message),
    onConnection: () => {
      const responder = newResponder(identity);
      return async (m) => responder.handle(m);
    },
  });
  const frameOf = (bytes: Uint8Array) =>
    encodeFrame({
      command: SOCKET_SPDM_COMMAND_NORMAL,
      transportType: SOCKET_TRANSPORT_TYPE_PCI_DOE,
      payload: encodeTransportPayload('pci_doe', { secured: false, bytes }),
    });
  const count = Math.round(20000 * SCALE);
  const one = frameOf(challenge);
  const prefix = requests.slice(0, -1).map(frameOf);
  const all = Buffer.concat([...prefix, ...Array.from({ length: count }, () => one)]);
  const pipeliner = connect({ host: '127.0.0.1', port: server.port });
  pipeliner.on('error', () => {});
  await new Promise<void>((r) => pipeliner.once('connect', () => r()));
  pipeliner.pause(); // reads nothing: the server's replies back up
  pipeliner.write(all);
  await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now();
  const other = await connectSpdmEmu({
    port: server.port,
    transportType: 'pci_doe',
    timeoutMs: 120_000,
  });
  await other.exchange({ secured: false, bytes: Uint8Array.of(0x10, 0x84, 0, 0) });
  const ms = performance.now() - t0;
  await other.close();
  pipeliner.destroy();
  await server.close();
  return [
    {
      name: `hello + GET_VERSION beside ${count.toLocaleString('en-US')} pipelined CHALLENGE`,
      value: ms,
      unit: 'ms',
    },
  ];
}

export const cases: BenchCase[] = [];

export async function figures(): Promise<BenchFigure[]> {
  const identity = await generateDeviceIdentity({ asym: 'ecdsa-p384' });
  return [...(await transcriptFigures(identity)), ...(await fairnessFigures(identity))];
}
