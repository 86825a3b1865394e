/**
 * The guest's attester (SYSTEM.md section 1, VFIO's second role "TEE attester"; section 4
 * steps 4-5; invariant 12): for a locked device it collects the evidence through its TSM
 * (the interface report, the certificate chain and the measurements, its fresh nonce bound
 * to them), runs the verifier against the policy and what the guest itself knows (the TDI
 * it expects, the BARs its VMM gave it, the nonces it used before), and only on success
 * records what to accept: the report's TEE ranges placed in its BARs. tsm/accept then does
 * the accepting. A refusal names every reason (the collector's and the verifier's).
 *
 * The MSI-X table and PBA are accepted with the rest when the report flags them (SYSTEM.md
 * section 6 item 11: the platform locked them with LOCK_MSIX, and in RUN the device answers
 * only T=1 there); a table the platform left shared is not in the report and stays shared.
 */

import { decodeInterfaceReport, type InterfaceReport } from '../wire/tdisp/report.ts';
import { checkReport } from '../wire/tdisp/report-ranges.ts';
import type { AttestationEvidence, AttestationRequest } from './attest/evidence.ts';
import type { AttestationPolicy } from './attest/policy.ts';
import { verifyEvidence } from './attest/verify.ts';
import type { GuestMachine } from './machine.ts';
import { fail, finish, type GuestOutcome } from './outcome.ts';
import {
  type AcceptRange,
  type Attested,
  freshNonce,
  type GuestDevice,
  type GuestState,
  hasFlaw,
} from './state.ts';
import { contextOf, devsecDevice, tsmAccept } from './tsm/core.ts';
import { bytesOf, type Collected } from './tsm/flavour.ts';

const PAGE = 4096n;
const U64 = 1n << 64n;
const mod64 = (v: bigint) => ((v % U64) + U64) % U64;

/** Evidence as collected for one nonce, with what the collector itself refused. */
export interface CollectedEvidence {
  evidence: AttestationEvidence;
  problems: Collected['problems'];
  tsmReportingOffset: bigint;
  attestInfo?: Attested['attestInfo'];
}

const decoded = (bytes: Uint8Array): InterfaceReport | undefined => {
  try {
    return decodeInterfaceReport(bytes);
  } catch {
    return undefined;
  }
};

/**
 * The offset relating the guest's BAR addresses to the report's FIRST_PAGE: the first
 * range is taken to start its BAR (as teeio's DSM reports), the verifier checks the rest.
 */
function reportingOffset(dev: GuestDevice, report: InterfaceReport | undefined, tsm: bigint) {
  const r0 = report?.mmioRanges[0];
  const bar = r0 && dev.bars.find((b) => b.index === r0.rangeId);
  return r0 && bar ? mod64(r0.firstPage * PAGE - bar.address) : tsm;
}

/**
 * The TEE ranges of a verified report, placed at guest addresses: every range not flagged
 * IS_NON_TEE_MEM, the MSI-X table and PBA included when reported (they are then locked).
 */
function acceptRanges(dev: GuestDevice, c: CollectedEvidence): AcceptRange[] {
  const report = decoded(c.evidence.report.bytes);
  if (!report) return [];
  const placed = checkReport(report, dev.bars, c.evidence.mmioReportingOffset).placed;
  const paOf = (i: number) => mod64(report.mmioRanges[i].firstPage * PAGE - c.tsmReportingOffset);
  // The firmware names a page by RANGE_ID and its offset from the ID's lowest reported page.
  const idBase = new Map<number, bigint>();
  report.mmioRanges.forEach((r, i) => {
    const lo = idBase.get(r.rangeId);
    if (lo === undefined || paOf(i) < lo) idBase.set(r.rangeId, paOf(i));
  });
  const out: AcceptRange[] = [];
  for (const p of placed) {
    const r = report.mmioRanges[p.range];
    const bar = dev.bars.find((b) => b.index === p.bar);
    if (!bar || r.attributes.nonTee) continue;
    const pa = paOf(p.range);
    out.push({
      rangeId: r.rangeId,
      range: p.range,
      gpa: bar.address + p.offset,
      pages: r.numberOfPages,
      pa,
      rangeOffset: Number(pa - (idBase.get(r.rangeId) ?? pa)),
    });
  }
  return out;
}

/** Collects the evidence of locked device `vdevId` for a fresh nonce (kept pending). */
export async function collectEvidence(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
): Promise<GuestOutcome<CollectedEvidence>> {
  const op = 'attest/collect';
  const args = { vdevId };
  const d = devsecDevice(m, g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const { dev, flavour } = d.value;
  if (dev.tsm !== 'locked') return finish(op, args, [], fail('EINVAL', `the device is ${dev.tsm}`));
  const nonce = freshNonce(g);
  dev.nonces.pending = nonce;
  // A new attestation supersedes the last verdict: until it is verified there is none.
  dev.attested = undefined;
  const ctx = contextOf(m, g, dev);
  const c = await flavour.collect(ctx, nonce);
  if (!c.ok) return finish(op, args, ctx.events, c);
  const report = decoded(c.value.evidence.report.bytes);
  const value: CollectedEvidence = {
    evidence: {
      ...c.value.evidence,
      mmioReportingOffset: reportingOffset(dev, report, c.value.tsmReportingOffset),
    },
    problems: c.value.problems,
    tsmReportingOffset: c.value.tsmReportingOffset,
  };
  if (c.value.attestInfo) value.attestInfo = c.value.attestInfo;
  return finish(op, args, ctx.events, { ok: true, value });
}

/**
 * Verifies `c` against `policy` for the nonce now pending (which is then used up); on
 * success records what tsm/accept will accept. -EACCES with the reasons when refused.
 */
export function verifyCollected(
  g: GuestState,
  vdevId: number,
  policy: AttestationPolicy,
  c: CollectedEvidence,
  at?: Date,
): GuestOutcome<Attested> {
  const op = 'attest/verify';
  const args = { vdevId };
  const dev = g.devices.get(vdevId);
  if (!dev) return finish(op, args, [], fail('ENODEV', `no device ${vdevId}`));
  const pending = dev.nonces.pending;
  if (dev.tsm !== 'locked' || pending === undefined) {
    return finish(op, args, [], fail('EINVAL', 'no evidence asked for on this lock'));
  }
  const request: AttestationRequest = {
    interfaceId: dev.interfaceId,
    nonce: bytesOf(pending),
    bars: dev.bars,
    usedNonces: dev.nonces.used.map(bytesOf),
  };
  if (at) request.at = at;
  const r = verifyEvidence(policy, request, c.evidence);
  dev.nonces.used.push(pending);
  dev.nonces.pending = undefined;
  // Seeded flaws (world/flaws.ts): a guest that does not notice what the VMM changed on the
  // way (the collector's digest checks), or that skips the nonce and MMIO-range checks.
  const problems = hasFlaw(g, 'vmm-rewrite-unnoticed') ? [] : c.problems;
  const skipped = hasFlaw(g, 'guest-accept-unchecked')
    ? new Set(['freshness', 'mmio-ranges'])
    : new Set<string>();
  const reasons = [...problems, ...(r.ok ? [] : r.reasons)].filter((x) => !skipped.has(x.check));
  if (reasons.length) {
    const detail = reasons.map((x) => `${x.check}: ${x.message}`).join('; ');
    return finish(op, args, [], fail('EACCES', detail, reasons));
  }
  const attested: Attested = {
    nonce: pending,
    ranges: acceptRanges(dev, c),
    evidence: structuredClone(c.evidence),
  };
  if (c.attestInfo) attested.attestInfo = c.attestInfo;
  dev.attested = attested;
  return finish(op, args, [], { ok: true, value: attested });
}

/** Collect, verify and, only when the evidence satisfies the policy, tsm/accept. */
export async function attestAndAccept(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  policy: AttestationPolicy,
  at?: Date,
): Promise<GuestOutcome> {
  const c = await collectEvidence(m, g, vdevId);
  if (!c.ok) return c;
  const v = verifyCollected(g, vdevId, policy, c.value, at);
  if (!v.ok) return { ...v, events: [...c.events, ...v.events] };
  const a = await tsmAccept(m, g, vdevId, '1');
  return { ...a, events: [...c.events, ...v.events, ...a.events] };
}
