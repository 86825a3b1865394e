/**
 * Real evidence from teeio's device for the verifier's tests: the TSM's connect (SPDM
 * certificate and signed measurements, session, IDE stream 0) and lock flow against an
 * enumerated device, then the report of each asked TDI; and a policy file written from the
 * device's own root and measurements, loaded through the policy loader.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../../src/crypto/random.ts';
import type { AttestationEvidence, AttestationRequest } from '../../../src/guest/attest/index.ts';
import { loadPolicy } from '../../../src/guest/attest/index.ts';
import {
  connectDevice,
  DEFAULT_LOCK_FLAGS,
  lockTdi,
  programIdeStream,
  TdispClient,
} from '../../../src/platform/tsm/index.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { SpdmRequester } from '../../../src/spdm/requester/index.ts';
import { toHex } from '../../../src/wire/hex.ts';
import type { MeasurementBlock } from '../../../src/wire/spdm/measurements.ts';
import type { InterfaceReport } from '../../../src/wire/tdisp/report.ts';
import { assignedBars } from '../../../src/world/host-view.ts';
import { createTdispDevice, type TdispDevice } from '../../../src/world/tdisp-device.ts';

export const REPORTING_OFFSET = 0x1000_0000n;

export interface Collected {
  dev: TdispDevice;
  /** Evidence and request of each TDI, in dev.tdis() order, each with its own nonce. */
  tdis: { evidence: AttestationEvidence; request: AttestationRequest }[];
  blocks: MeasurementBlock[];
}

/** Connects, locks the first `count` TDIs and fetches their reports. */
export async function collect(seed: string, count = 2): Promise<Collected> {
  const random = seededRandom(seed);
  const dev = await createTdispDevice({ enumerate: true, random });
  const requester = new SpdmRequester(
    dev.doeTransport(),
    requesterConfig({ trustAnchors: [dev.root], random }),
  );
  try {
    const ch = await connectDevice(requester);
    await programIdeStream(ch, 0, { random });
    const tdisp = new TdispClient(ch);
    const tdis: Collected['tdis'] = [];
    for (const tdi of dev.tdis().slice(0, count)) {
      await lockTdi(tdisp, tdi.interfaceId, { mmioReportingOffset: REPORTING_OFFSET });
      const { bytes } = await tdisp.getReport(tdi.interfaceId);
      const state = await tdisp.getState(tdi.interfaceId);
      const nonce = random(32);
      tdis.push({
        evidence: {
          hash: ch.vca.negotiated.suite.hash,
          certChain: ch.chain.buffer,
          measurements: ch.measurements.blocks,
          report: { interfaceId: tdi.interfaceId, bytes },
          nonce,
          tdiState: state.name as AttestationEvidence['tdiState'],
          lockFlags: DEFAULT_LOCK_FLAGS,
          mmioReportingOffset: REPORTING_OFFSET,
          firmwareUpdatedAfterLock: false,
        },
        request: {
          interfaceId: tdi.interfaceId,
          nonce,
          bars: assignedBars(dev.profile, dev.enumerated ?? new Map(), tdi.fn),
        },
      });
    }
    return { dev, tdis, blocks: ch.measurements.blocks };
  } finally {
    await requester.close();
  }
}

const pem = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END CERTIFICATE-----\n`;

/** A policy file's measurement references, from the blocks as the device reported them. */
export function referencesYaml(blocks: MeasurementBlock[]): string {
  return blocks
    .map((b) => {
      if (b.kind !== 'dmtf') throw new Error('teeio reports DMTF blocks');
      const value = b.rawBitStream
        ? `raw: "${toHex(b.value)}"`
        : `hash: sha384\n      digest: "${toHex(b.value)}"`;
      return `    - index: ${b.index}\n      valueType: ${b.valueType}\n      ${value}\n`;
    })
    .join('');
}

/** The policy's report section pinning everything of `report` (its locked configuration). */
export function reportYaml(report: InterfaceReport): string {
  const i = report.interfaceInfo;
  const ranges = report.mmioRanges
    .map((r) => {
      const set = (['msixTable', 'msixPba', 'nonTee', 'updatable'] as const).filter(
        (n) => r.attributes[n],
      );
      return `      - attributes: [${set.join(', ')}]\n`;
    })
    .join('');
  return `report:
  interfaceInfo:
    noUpdateAfterLock: ${i.noUpdateAfterLock}
    dmaWithoutPasid: ${i.dmaWithoutPasid}
    dmaWithPasid: ${i.dmaWithPasid}
    atsSupported: ${i.atsSupported}
    prsSupported: ${i.prsSupported}
    xtModeSupported: ${i.xtModeSupported}
  lockFlags:
    required: [NO_FW_UPDATE, LOCK_MSIX]
    forbidden: [BIND_P2P]
  reference:
    msixMessageControl: 0x${report.msixMessageControl.toString(16)}
    lnrControl: ${report.lnrControl}
    tphControl: ${report.tphControl}
    deviceSpecificInfo: "${toHex(report.deviceSpecificInfo)}"
    ranges:
${ranges}`;
}

/**
 * A policy file trusting the root in root.pem next to it, with every measurement and the
 * report's locked configuration pinned.
 */
export function policyYaml(blocks: MeasurementBlock[], report: InterfaceReport): string {
  return `# the device's own root, every block pinned
trustAnchors:
  - file: root.pem
leaf:
  spdmEku: responder
measurements:
  allowUnlisted: false
  reference:
${referencesYaml(blocks)}${reportYaml(report)}states: [CONFIG_LOCKED]
`;
}

/** Writes `yaml` as policy.yaml and `root` as root.pem in a fresh folder; returns the policy path. */
export function writePolicy(yaml: string, root: Uint8Array): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'teeio-policy-'));
  writeFileSync(path.join(dir, 'root.pem'), pem(root));
  const file = path.join(dir, 'policy.yaml');
  writeFileSync(file, yaml);
  return file;
}

export { loadPolicy, pem };
