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
import { SOCKET_DEFAULT_PORT } from '../wire/socket.ts';
import { SPDM_CAP } from '../wire/spdm/constants.ts';
import { formatVersionByte } from '../wire/spdm/version.ts';
import {
  type AlgorithmOptions,
  addAlgorithmOptions,
  addLinkOptions,
  algorithmPreferences,
  asymBitsForKey,
  CliError,
  loadIdentity,
  parsePort,
  parseVersions,
  writeCertificate,
} from './identity.ts';

interface ResponderOptions extends AlgorithmOptions {
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
  if (o.certChain || o.key) {
    if (!o.certChain || !o.key) throw new CliError('--cert-chain and --key go together');
    return { slot: loadIdentity(o.certChain, o.key, o.asym), generated: false };
  }
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

function describeEvent(e: SpdmEvent): string | undefined {
  const sid =
    'sessionId' in e && e.sessionId !== undefined ? ` [session 0x${e.sessionId.toString(16)}]` : '';
  switch (e.type) {
    case 'message':
      return `#${e.connectionId} ${e.direction === 'in' ? '<' : '>'} ${e.name} ${e.bytes.length} B${sid}`;
    case 'error-response':
      return `#${e.connectionId} ! ERROR ${e.errorName} for 0x${e.requestCode.toString(16)}${sid}`;
    case 'session':
      return `#${e.connectionId} session 0x${e.sessionId.toString(16)} ${e.phase}${e.cause ? ` (${e.cause})` : ''}`;
    case 'record-rejected':
      return `#${e.connectionId} record rejected: ${e.reason}${sid}`;
    default:
      return undefined;
  }
}

/** HeartbeatPeriod is one byte of seconds. @throws CliError otherwise. */
function parseHeartbeat(s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 0xff) throw new CliError(`--heartbeat: "${s}" is not 0..255 seconds`);
  return n;
}

async function run(o: ResponderOptions): Promise<void> {
  const port = parsePort(o.port);
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
        const line = describeEvent(e);
        if (line) console.log(line);
      }
    : undefined;

  let connections = 0;
  const server = await serveSpdmEmu({
    host: o.host,
    port,
    transportType: o.trans,
    onConnection: () => {
      const r = new SpdmResponder({ ...base, connectionId: ++connections, onEvent: log }, o.trans);
      return async (m) => r.handle(m);
    },
    onError: (e) => {
      if (o.verbose) console.log(`connection dropped: ${e.message}`);
    },
  }).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`cannot listen on ${o.host}:${port}: ${e.message}`);
  });
  const vers = base.versions.map(formatVersionByte).join(',');
  console.log(`listening on ${o.host}:${server.port} (${o.trans}, SPDM ${vers})`);
  console.log(
    `identity: ${generated ? 'generated' : o.certChain}, ${slot.certificates.length} certificates${o.writeRoot ? `, root written to ${o.writeRoot}` : ''}`,
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      server.close().then(() => {
        console.log(`closed (${signal}, ${connections} connection(s) served)`);
        resolve();
      });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('responder')
    .description('serve SPDM over the spdm-emu socket (pci_doe or mctp) until stopped')
    .option('--port <port>', 'TCP port (0 = any free port)', String(SOCKET_DEFAULT_PORT))
    .option('--host <address>', 'address to bind', '127.0.0.1');
  addLinkOptions(cmd);
  cmd
    .option('--cert-chain <file>', 'certificate chain, DER certificates root first (or PEM)')
    .option('--key <file>', 'private key of the last certificate (PEM or DER)')
    .option('--write-root <file>', 'write the root certificate (DER) for a requester to trust');
  addAlgorithmOptions(cmd);
  cmd
    .option('--handshake-in-the-clear', 'set HANDSHAKE_IN_THE_CLEAR_CAP')
    .option('--heartbeat <seconds>', 'HeartbeatPeriod in KEY_EXCHANGE_RSP', '0')
    .option('--verbose', 'print every message and session change')
    .action(async (o: ResponderOptions) => {
      try {
        await run(o);
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        console.error(`teeio responder: ${e.message}`);
        process.exitCode = 2;
      }
    });
}
