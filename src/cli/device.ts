/**
 * `teeio device`: the whole emulated TDISP device (PCIe 6.x chapter 11) behind the spdm-emu
 * socket: its DSM answers SPDM, IDE_KM and TDISP, with DOE discovery on pci_doe, so
 * teeio's requester, libspdm's spdm_requester_emu or QEMU can drive it. The device is
 * enumerated as platform firmware would (BARs, Memory Space / Bus Master Enable, SR-IOV),
 * and its TDIs are printed with the BARs a TSM checks the interface report against. Each
 * TCP connection is a fresh SPDM connection of the same device; TDI and IDE state persist.
 * Vendor-defined requests of other registries (CXL, other StandardIDs) get SPDM ERROR
 * UnsupportedRequest. Binds 127.0.0.1 unless told otherwise; stops on SIGINT / SIGTERM.
 */
import { type Command, Option } from 'commander';
import { BEHAVIOURS, type BehaviourName } from '../device/dsm/behaviour.ts';
import { describeDsmEvent } from '../device/dsm/describe.ts';
import { formatBdf as bdf } from '../device/pci/bdf.ts';
import type { DeviceProfile } from '../device/pci/profile.ts';
import { resolveProfile } from '../device/profiles/load.ts';
import type { Binding } from '../transport/types.ts';
import { formatVersionByte } from '../wire/spdm/version.ts';
import { createTdispDevice, type TdiInfo } from '../world/tdisp-device.ts';
import { addCaptureOptions, type CaptureCliOptions, openCapture } from './capture.ts';
import { addHeartbeatOption, parseHeartbeat } from './heartbeat-option.ts';
import {
  addIdentityOptions,
  addLinkOptions,
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

interface DeviceCliOptions extends ConnectionLimitOptions, CaptureCliOptions {
  profile: string;
  port: string;
  host: string;
  trans: Binding;
  ver?: string;
  certChain?: string;
  key?: string;
  behaviour: BehaviourName;
  writeRoot?: string;
  bus?: string;
  heartbeat: string;
  verbose?: boolean;
}

function loadProfileOption(s: string): DeviceProfile {
  try {
    return resolveProfile(s);
  } catch (e) {
    throw new CliError(`--profile ${s}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const hex = (v: number | bigint, pad = 0) => `0x${v.toString(16).padStart(pad, '0')}`;

/** One TDI line; `bars=` is what `teeio requester --tdi-bars` takes. */
export function describeTdi(t: TdiInfo): string {
  const id = t.interfaceId;
  const fid = (id.segmentValid ? 0x1000000 : 0) | (id.segment << 16) | id.requesterId;
  const bars = t.bars.map((b) => `${b.index}:${hex(b.address)}:${hex(b.size)}`).join(',');
  return `tdi fn=${t.fn} requester-id=${bdf(t.requesterId)} interface-id=${hex(fid, 4)} bars=${bars}`;
}

/** @throws CliError unless `s` is a bus number 0..255 (decimal or 0x hex). */
function parseBus(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 255)
    throw new CliError(`--bus ${s}: not a bus number 0..255`);
  return n;
}

async function run(o: DeviceCliOptions): Promise<void> {
  const port = parsePort(o.port);
  const limits = connectionLimits(o);
  const profile = loadProfileOption(o.profile);
  const versions = parseVersions(o.ver);
  const slot = loadIdentityOptions(o);
  const heartbeatPeriod = parseHeartbeat(o.heartbeat);
  const log = (line: string | undefined) => {
    if (line) console.log(line);
  };
  const capture = openCapture(o, o.trans);
  let dev: Awaited<ReturnType<typeof createTdispDevice>>;
  try {
    dev = await createTdispDevice({
      profile,
      behaviour: o.behaviour,
      identity: slot && { certChain: slot.certificates, privateKey: slot.privateKey },
      responderConfig: {
        ...(versions ? { versions } : {}),
        heartbeatPeriod,
        onSessionSecrets: capture.onSessionSecrets,
      },
      enumerate: true,
      bus: o.bus === undefined ? undefined : parseBus(o.bus),
      onSpdmEvent: o.verbose ? (e) => log(describeSpdmEvent(e)) : undefined,
      onDsmEvent: o.verbose
        ? (e) => {
            const line = describeDsmEvent(e);
            if (line) log(`dsm ${line}`);
          }
        : undefined,
    });
  } catch (e) {
    capture.close();
    if (e instanceof RangeError) throw new CliError(e.message);
    throw e;
  }
  if (o.writeRoot) writeCertificate(o.writeRoot, dev.root);
  const server = await listenOn(o.host, port, () =>
    dev.serve({
      host: o.host,
      port,
      transportType: o.trans,
      ...limits,
      onWire: capture.tap,
      onError: (e) => {
        if (o.verbose) console.log(`connection dropped: ${e.message}`);
      },
    }),
  );
  const vers = dev.doeResponder.config.versions.map(formatVersionByte).join(',');
  console.log(
    `device: ${profile.name}, behaviour ${o.behaviour}, identity ${slot ? o.certChain : 'generated'} (${dev.identity.certChain.length} certificates)${o.writeRoot ? `, root written to ${o.writeRoot}` : ''}`,
  );
  for (const t of dev.tdis()) console.log(describeTdi(t));
  // Last, so that whoever waits for it has everything above.
  console.log(`listening on ${o.host}:${server.port} (${o.trans}, SPDM ${vers})`);

  await serveUntilSignal(server, (signal) => {
    capture.close();
    return `closed (${signal}${o.pcap ? `, ${capture.packets} packets in ${o.pcap}` : ''})`;
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('device')
    .description('serve the emulated TDISP device (SPDM + IDE_KM + TDISP) on the spdm-emu socket')
    .option(
      '--profile <name|file>',
      'nic, gpu, nvme, spdm-emu, or a YAML/JSON profile file',
      'nic',
    );
  addListenOptions(cmd);
  addConnectionLimitOptions(cmd);
  addLinkOptions(cmd);
  addIdentityOptions(cmd);
  addHeartbeatOption(cmd);
  addCaptureOptions(cmd);
  cmd
    .addOption(
      new Option('--behaviour <name>', 'DSM behaviour')
        .choices(Object.keys(BEHAVIOURS))
        .default('spec'),
    )
    .option('--write-root <file>', 'write the root certificate (DER) for a requester to trust')
    .option(
      '--bus <n>',
      "bus number the device sits on (0xbe with --profile spdm-emu gives spdm-emu's InterfaceID 0xbeef)",
    )
    .option('--verbose', 'print every SPDM message, session change and DSM event')
    .action(run);
}
