/**
 * `teeio responder`: an SPDM responder (DSP0274 1.0-1.3 with DSP0277 sessions) behind the
 * spdm-emu socket, the way DMTF's spdm_responder_emu serves it, so that teeio's requester,
 * libspdm's spdm_requester_emu or QEMU can connect. One SpdmResponder per connection;
 * binds 127.0.0.1 unless told otherwise; serves until SIGINT / SIGTERM. Without
 * --cert-chain it generates an identity and can write its root for the requester's --trust.
 */
import type { Command } from 'commander';
import { generateDeviceIdentity } from '../crypto/cert-build.ts';
import { DEFAULT_ALGORITHMS, responderConfig, type SlotIdentity } from '../spdm/config.ts';
import type { SpdmEvent } from '../spdm/events.ts';
import { SpdmResponder } from '../spdm/responder/index.ts';
import { serveSpdmEmu } from '../transport/spdm-emu-server.ts';
import type { Binding } from '../transport/types.ts';
import { SPDM_CAP } from '../wire/spdm/constants.ts';
import { formatVersionByte } from '../wire/spdm/version.ts';
import { addCaptureOptions, type CaptureCliOptions, openCapture } from './capture.ts';
import { addHeartbeatOption, parseHeartbeat } from './heartbeat-option.ts';
import {
  type AlgorithmOptions,
  addAlgorithmOptions,
  addIdentityOptions,
  addLinkOptions,
  algorithmPreferences,
  asymBitsForKey,
  CliError,
  loadIdentityOptions,
  parsePort,
  parseVersions,
  writeCertificate,
} from './identity.ts';
import {
  addConnectionLimitOptions,
  addListenOptions,
  type ConnectionLimitOptions,
  connectionLimits,
  describeSpdmEvent,
  listenOn,
  serveUntilSignal,
} from './serve.ts';

interface ResponderOptions extends AlgorithmOptions, ConnectionLimitOptions, CaptureCliOptions {
  port: string;
  host: string;
  trans: Binding;
  ver?: string;
  certChain?: string;
  key?: string;
  writeRoot?: string;
  handshakeInTheClear?: boolean;
  heartbeat: string;
  verbose?: boolean;
}

/** The PCI identity a generated leaf names in its CMA SubjectAltName (a QEMU-like function). */
const GENERATED_PCIE = { vendorId: 0x1b36, deviceId: 0x0010, classCode: 0x010802, revision: 0x02 };

async function identityFor(
  o: ResponderOptions,
): Promise<{ slot: SlotIdentity; generated: boolean }> {
  const loaded = loadIdentityOptions(o, o.asym);
  if (loaded) return { slot: loaded, generated: false };
  const id = await generateDeviceIdentity({
    asym: o.asym ?? 'ecdsa-p384',
    role: 'responder',
    pcie: o.trans === 'pci_doe' ? GENERATED_PCIE : undefined,
  });
  return {
    slot: { certificates: id.certificates, privateKey: id.leaf.privateKey },
    generated: true,
  };
}

async function run(o: ResponderOptions): Promise<void> {
  const port = parsePort(o.port);
  const limits = connectionLimits(o);
  const versions = parseVersions(o.ver);
  const { slot, generated } = await identityFor(o);
  const prefs = algorithmPreferences(o);
  prefs.baseAsym = asymBitsForKey(slot.privateKey, prefs.baseAsym);
  if (prefs.baseAsym.length === 0) {
    throw new CliError(
      `the ${slot.privateKey.asymmetricKeyType} key fits none of the signature algorithms`,
    );
  }
  const base = responderConfig({
    ...(versions ? { versions } : {}),
    algorithms: { ...DEFAULT_ALGORITHMS, ...prefs },
    slots: [slot],
    heartbeatPeriod: parseHeartbeat(o.heartbeat),
  });
  if (o.handshakeInTheClear) base.capabilities |= SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP;
  if (o.writeRoot) writeCertificate(o.writeRoot, slot.certificates[0]);
  const log = o.verbose
    ? (e: SpdmEvent) => {
        const line = describeSpdmEvent(e);
        if (line) console.log(line);
      }
    : undefined;

  const capture = openCapture(o, o.trans);
  let connections = 0;
  const server = await listenOn(o.host, port, () =>
    serveSpdmEmu({
      host: o.host,
      port,
      transportType: o.trans,
      ...limits,
      onWire: capture.tap,
      onConnection: () => {
        const r = new SpdmResponder(
          {
            ...base,
            connectionId: ++connections,
            onEvent: log,
            onSessionSecrets: capture.onSessionSecrets,
          },
          o.trans,
        );
        return async (m) => r.handle(m);
      },
      onError: (e) => {
        if (o.verbose) console.log(`connection dropped: ${e.message}`);
      },
    }),
  );
  const vers = base.versions.map(formatVersionByte).join(',');
  console.log(`listening on ${o.host}:${server.port} (${o.trans}, SPDM ${vers})`);
  console.log(
    `identity: ${generated ? 'generated' : o.certChain}, ${slot.certificates.length} certificates${o.writeRoot ? `, root written to ${o.writeRoot}` : ''}`,
  );

  await serveUntilSignal(server, (signal) => {
    capture.close();
    const pcap = o.pcap ? `, ${capture.packets} packets in ${o.pcap}` : '';
    return `closed (${signal}, ${connections} connection(s) served${pcap})`;
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('responder')
    .description('serve SPDM over the spdm-emu socket (pci_doe or mctp) until stopped');
  addListenOptions(cmd);
  addConnectionLimitOptions(cmd);
  addLinkOptions(cmd);
  addIdentityOptions(cmd);
  cmd.option('--write-root <file>', 'write the root certificate (DER) for a requester to trust');
  addAlgorithmOptions(cmd);
  addHeartbeatOption(cmd);
  addCaptureOptions(cmd);
  cmd
    .option('--handshake-in-the-clear', 'set HANDSHAKE_IN_THE_CLEAR_CAP')
    .option('--verbose', 'print every message and session change')
    .action(run);
}
