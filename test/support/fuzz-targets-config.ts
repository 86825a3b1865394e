/**
 * The fuzz targets beyond the wire decoders and the SPDM / DOE / DSM engines
 * (test/support/fuzz-targets.ts): the text readers that take files a user may have been
 * handed (the SPDM key log, a scenario file, an attestation policy) and the TSM's handling
 * of what a device answers to its TDISP and IDE_KM requests.
 *
 * Contracts: parseKeylog returns entries or throws a KeylogError naming its line; parseScenario
 * and parsePolicy return or throw their ConfigError, every line of which names the file, line,
 * column and field; a TdispClient / IdeKmClient call on a hostile response resolves or ends
 * with TsmProtocolError, TdispErrorResponse or IdeKmAckError.
 *
 * The TSM target's entry point is the narrowest one the device's bytes reach: the clients'
 * sendPciSig, through a channel whose requester answers every VENDOR_DEFINED_REQUEST with the
 * (mutated) PCI-SIG payload of a response the device gave in a real lifecycle. The session
 * and its record layer in front of it are the requester's and the secured-record targets'.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeviceIdentity } from '../../src/crypto/cert-build.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { parsePolicy } from '../../src/guest/attest/policy-load.ts';
import {
  IdeKmAckError,
  TdispErrorResponse,
  TsmProtocolError,
} from '../../src/platform/tsm/errors.ts';
import { IdeKmClient, streamSlots } from '../../src/platform/tsm/ide-km-client.ts';
import type { SecuredChannel } from '../../src/platform/tsm/pci-sig.ts';
import { TdispClient } from '../../src/platform/tsm/tdisp-client.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { CATALOGUE } from '../../src/scenario/world.ts';
import { formatKeylogLine, KeylogError, parseKeylog } from '../../src/spdm/keylog.ts';
import { concat } from '../../src/wire/hex.ts';
import { decodeIdeKm } from '../../src/wire/idekm/index.ts';
import {
  PCI_PROTOCOL_ID_IDE_KM,
  PCI_PROTOCOL_ID_TDISP,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../../src/wire/spdm/constants.ts';
import { decodeTdispHeader } from '../../src/wire/tdisp/header.ts';
import { ConfigError } from '../../src/wire/yaml-config.ts';
import type { Capture, FuzzTarget } from './fuzz-targets.ts';
import { FuzzViolation } from './fuzz-targets.ts';

const utf8 = new TextDecoder();
const enc = new TextEncoder();
const errName = (e: unknown) =>
  e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e);

function keylogTarget(): FuzzTarget {
  const b = (n: number, v: number) => new Uint8Array(n).fill(v);
  const lines = [
    formatKeylogLine({
      sessionId: 0xfffe0001,
      version: 0x12,
      hash: 'sha384',
      aead: 'aes-256-gcm',
      kind: 'dhe',
      th1: b(48, 1),
      requestHandshakeSecret: b(48, 2),
      responseHandshakeSecret: b(48, 3),
      th2: b(48, 4),
      requestDataSecret: b(48, 5),
      responseDataSecret: b(48, 6),
      dheSecret: b(48, 7),
    }),
    formatKeylogLine({
      sessionId: 1,
      version: 0x13,
      hash: 'sha256',
      aead: 'chacha20-poly1305',
      kind: 'psk',
      th1: b(32, 1),
      requestHandshakeSecret: b(32, 2),
      responseHandshakeSecret: b(32, 3),
    }),
  ];
  const corpus = [
    ...lines.map((l) => enc.encode(`${l}\n`)),
    enc.encode(`# teeio key log\n${lines.join('\n')}\nCLIENT_RANDOM aa bb\n`),
  ];
  return {
    name: 'spdm/keylog',
    covers: ['parseKeylog'],
    corpus,
    run(input) {
      try {
        parseKeylog(utf8.decode(input));
      } catch (e) {
        if (e instanceof KeylogError && /^keylog line \d+: /.test(e.message)) return;
        throw new FuzzViolation(`spdm/keylog: threw ${errName(e)}`, { cause: e });
      }
    },
  };
}

/** A ConfigError every line of which names file:line:col: field: why. */
function configOnly(target: string, source: string, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) {
      // Each line: file:line:col: field path: why (a key may itself hold ': ').
      const bad = e.message
        .split('\n')
        .find((l) => !new RegExp(`^${source}:\\d+:\\d+: .+`, 's').test(l));
      const unplaced = e.problems.find((p) => !(p.line >= 1) || !Array.isArray(p.path));
      if (e.problems.length === 0 || bad !== undefined || unplaced !== undefined) {
        throw new FuzzViolation(
          `${target}: a ConfigError without line/field: ${bad ?? JSON.stringify(unplaced)}`,
        );
      }
      return;
    }
    throw new FuzzViolation(`${target}: threw ${errName(e)}`, { cause: e });
  }
}

function scenarioTarget(): FuzzTarget {
  const files = ['scenarios', 'scenarios/flaws'].flatMap((d) =>
    readdirSync(d)
      .filter((n) => n.endsWith('.yaml'))
      .sort()
      .map((n) => join(d, n)),
  );
  return {
    name: 'scenario/load',
    covers: ['parseScenario'],
    corpus: files.map((f) => new Uint8Array(readFileSync(f))),
    run(input) {
      configOnly('scenario/load', 's.yaml', () =>
        parseScenario(utf8.decode(input), 's.yaml', CATALOGUE),
      );
    },
  };
}

async function policyTarget(): Promise<FuzzTarget> {
  const root = (await generateDeviceIdentity({ rng: seededRandom('fuzz-policy') }))
    .certificates[0]!;
  const b64 = Buffer.from(root)
    .toString('base64')
    .match(/.{1,64}/g)!;
  const pem = ['-----BEGIN CERTIFICATE-----', ...b64, '-----END CERTIFICATE-----'];
  const dir = mkdtempSync(join(tmpdir(), 'teeio-fuzz-policy-'));
  writeFileSync(join(dir, 'root.der'), root);
  const inline = `  - pem: |\n${pem.map((l) => `      ${l}`).join('\n')}\n`;
  const texts = [
    'trustAnchors:\n  - file: root.der\n',
    `trustAnchors:\n${inline}`,
    `trustAnchors:
  - file: root.der
leaf:
  subjectCommonName: teeio device
states: [CONFIG_LOCKED, RUN]
measurements:
  allowUnlisted: false
  reference:
    - index: 1
      hash: sha384
      digest: "${'ab'.repeat(48)}"
report:
  allowHoles: false
  refuseFirmwareUpdate: true
  lockFlags:
    required: [NO_FW_UPDATE, LOCK_MSIX]
`,
  ];
  return {
    name: 'guest/attest/policy-load',
    covers: ['parsePolicy'],
    corpus: texts.map((t) => enc.encode(t)),
    run(input) {
      configOnly('guest/attest/policy-load', 'p.yaml', () =>
        parsePolicy(utf8.decode(input), 'p.yaml', dir),
      );
    },
  };
}

type Call = (ch: SecuredChannel) => Promise<unknown>;

/** The calls that may have drawn a PCI-SIG response (its message without the ProtocolID). */
function candidateCalls(protocolId: number, message: Uint8Array): Call[] {
  if (protocolId === PCI_PROTOCOL_ID_TDISP) {
    let tdi: ReturnType<typeof decodeTdispHeader>['interfaceId'] | number = 0;
    try {
      tdi = decodeTdispHeader(message).interfaceId;
    } catch {}
    const t = (ch: SecuredChannel) => new TdispClient(ch, { portionLength: 0x100 });
    return [
      (ch) => t(ch).getVersion(tdi),
      (ch) => t(ch).getState(tdi),
      (ch) => t(ch).lock(tdi),
      (ch) => t(ch).getReport(tdi),
      (ch) => t(ch).start(tdi, new Uint8Array(32)),
      (ch) => t(ch).stop(tdi),
      (ch) => t(ch).bindP2P(tdi, 1),
      (ch) => t(ch).unbindP2P(tdi, 1),
    ];
  }
  let streamId = 0;
  try {
    const m = decodeIdeKm(message) as { streamId?: number };
    streamId = m.streamId ?? 0;
  } catch {}
  const k = (ch: SecuredChannel) => new IdeKmClient(ch, { random: (n) => new Uint8Array(n) });
  const slots = [...streamSlots(0), ...streamSlots(1)];
  return [
    (ch) => k(ch).query(),
    ...slots.flatMap((s): Call[] => [
      (ch) => k(ch).keyProg(streamId, s),
      (ch) => k(ch).kSetGo(streamId, s),
      (ch) => k(ch).kSetStop(streamId, s),
    ]),
  ];
}

async function tsmTarget(c: Capture): Promise<FuzzTarget> {
  const responses = c.vendor.filter(
    (v) =>
      !v.request &&
      (v.protocolId === PCI_PROTOCOL_ID_TDISP || v.protocolId === PCI_PROTOCOL_ID_IDE_KM),
  );
  const channel = (payload: Uint8Array): SecuredChannel =>
    ({
      requester: {
        negotiated: { version: c.version },
        sendVendorDefined: async () => ({
          version: c.version,
          code: SPDM_VENDOR_DEFINED_RESPONSE,
          standardId: 3,
          vendorId: Uint8Array.of(1, 0),
          payload,
        }),
      },
      session: { id: 0xfffe0001 },
    }) as unknown as SecuredChannel;
  const corpus: Uint8Array[] = [];
  const calls: Call[] = [];
  for (const r of responses) {
    const payload = concat(Uint8Array.of(r.protocolId), r.message);
    const cands = candidateCalls(r.protocolId, r.message);
    let chosen = cands[0]!;
    for (const call of cands) {
      try {
        await call(channel(payload));
        chosen = call;
        break;
      } catch {}
    }
    corpus.push(payload);
    calls.push(chosen);
  }
  return {
    name: 'platform/tsm',
    covers: ['TdispClient', 'IdeKmClient', 'sendPciSig'],
    corpus,
    async run(input, from) {
      try {
        await calls[from]!(channel(input));
      } catch (e) {
        if (
          e instanceof TsmProtocolError ||
          e instanceof TdispErrorResponse ||
          e instanceof IdeKmAckError
        ) {
          return;
        }
        throw new FuzzViolation(`platform/tsm: threw ${errName(e)}`, { cause: e });
      }
    },
  };
}

/** The key log, scenario and policy readers and the TSM's clients as fuzz targets. */
export async function configTargets(c: Capture): Promise<FuzzTarget[]> {
  return [keylogTarget(), scenarioTarget(), await policyTarget(), await tsmTarget(c)];
}
