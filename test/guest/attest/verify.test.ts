import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AttestationEvidence,
  type AttestationPolicy,
  type AttestationRequest,
  type AttestationResult,
  verifyEvidence,
} from '../../../src/guest/attest/index.ts';
import type { MeasurementBlock } from '../../../src/wire/spdm/measurements.ts';
import { decodeInterfaceReport, encodeInterfaceReport } from '../../../src/wire/tdisp/report.ts';
import { type Collected, collect, loadPolicy, policyYaml, writePolicy } from './evidence-rig.ts';

let dev: Collected;
let other: Collected;
let policy: AttestationPolicy;
let evidence: AttestationEvidence;
let request: AttestationRequest;

before(async () => {
  dev = await collect('guest-attest');
  other = await collect('guest-attest-other-device', 1);
  ({ evidence, request } = dev.tdis[0]);
  const report = decodeInterfaceReport(evidence.report.bytes);
  policy = loadPolicy(writePolicy(policyYaml(dev.blocks, report), dev.dev.root));
});

/** The failed checks' names, and the reasons for reading on failure. */
function refused(r: AttestationResult): { checks: string[]; messages: string[] } {
  assert.equal(r.ok, false, 'expected the evidence to be refused');
  if (r.ok) throw new Error('unreachable');
  return { checks: r.reasons.map((x) => x.check), messages: r.reasons.map((x) => x.message) };
}

describe('verifyEvidence on real evidence of teeio device', () => {
  it('accepts the locked TDI under a policy with the device root and its measurements', () => {
    assert.deepEqual(verifyEvidence(policy, request, evidence), { ok: true });
  });

  it('refuses a chain under a policy trusting another root', () => {
    const p = { ...policy, trustAnchors: [other.dev.root] };
    const r = refused(verifyEvidence(p, request, evidence));
    assert.deepEqual(r.checks, ['chain']);
    assert.match(r.messages[0], /^wrong-root: certificate 0: /);
  });

  it('refuses another device chain under this device root', () => {
    const e = { ...evidence, certChain: other.tdis[0].evidence.certChain };
    assert.deepEqual(refused(verifyEvidence(policy, request, e)).checks, ['chain']);
  });

  it('refuses a tampered measurement, naming its index', () => {
    const blocks = evidence.measurements.map((b): MeasurementBlock => {
      if (b.index !== 2 || b.kind !== 'dmtf') return b;
      const value = b.value.slice();
      value[0] ^= 1;
      return { ...b, value };
    });
    const r = refused(verifyEvidence(policy, request, { ...evidence, measurements: blocks }));
    assert.deepEqual(r.checks, ['measurements']);
    assert.match(r.messages[0], /^measurement 2 sha384 /);
  });

  it('refuses a missing or unlisted measurement block', () => {
    const missing = evidence.measurements.filter((b) => b.index !== 5);
    let r = refused(verifyEvidence(policy, request, { ...evidence, measurements: missing }));
    assert.deepEqual(r.messages, ['measurement 5: no block']);
    const extra: MeasurementBlock = {
      kind: 'dmtf',
      index: 9,
      valueType: 0,
      rawBitStream: true,
      value: new Uint8Array([1]),
    };
    const more = [...evidence.measurements, extra];
    r = refused(verifyEvidence(policy, request, { ...evidence, measurements: more }));
    assert.deepEqual(r.messages, ['measurement 9 has no reference']);
  });

  it('refuses a report with an extra MMIO range outside the BARs the guest sees', () => {
    const rep = decodeInterfaceReport(evidence.report.bytes);
    const last = rep.mmioRanges[rep.mmioRanges.length - 1];
    const extra = { ...last, firstPage: last.firstPage + 0x100n };
    const bytes = encodeInterfaceReport({ ...rep, mmioRanges: [...rep.mmioRanges, extra] });
    const e = { ...evidence, report: { ...evidence.report, bytes } };
    const r = refused(verifyEvidence(policy, request, e));
    assert.deepEqual(r.checks, ['mmio-ranges', 'report-fields']);
    assert.equal(r.messages[1], '4 MMIO ranges, the policy lists 3');
    assert.match(
      r.messages[0],
      /^range 3 at 0x[0-9a-f]+ \(\+0x1000\) is not inside any assigned BAR$/,
    );
  });

  it('refuses a report when the guest sees a BAR the report leaves out', () => {
    const bars = [...request.bars, { index: 2, address: 0x80_0000_0000n, size: 0x4000n }];
    const r = refused(verifyEvidence(policy, { ...request, bars }, evidence));
    assert.deepEqual(r.checks, ['mmio-ranges']);
    assert.match(r.messages[0], /^BAR 2 at 0x8000000000 is not in the report$/);
  });

  it('refuses the report of another TDI', () => {
    const second = dev.tdis[1].evidence;
    const e = { ...evidence, report: second.report };
    const r = refused(verifyEvidence(policy, request, e));
    assert.ok(r.checks.includes('interface-id'));
    assert.ok(
      r.messages.includes('report of FunctionID 0x00000002, asked about 0x00000001'),
      r.messages.join('; '),
    );
    // The same report under its own InterfaceID still describes BARs the guest was not given.
    const relabelled = { ...e, report: { ...second.report, interfaceId: request.interfaceId } };
    assert.deepEqual(
      [...new Set(refused(verifyEvidence(policy, request, relabelled)).checks)],
      ['mmio-ranges'],
    );
  });

  it('refuses replayed evidence, and a nonce used before', () => {
    // Evidence of the second TDI's request carries that request's nonce.
    const old = dev.tdis[1].evidence.nonce;
    const replay = { ...evidence, nonce: old };
    let r = refused(verifyEvidence(policy, { ...request, usedNonces: [old] }, replay));
    assert.deepEqual(r.messages, ['evidence bound to a nonce of an earlier request: replayed']);
    r = refused(verifyEvidence(policy, request, replay));
    assert.deepEqual(r.messages, ['evidence not bound to the nonce supplied']);
    r = refused(verifyEvidence(policy, { ...request, usedNonces: [request.nonce] }, evidence));
    assert.deepEqual(r.messages, ['the nonce supplied was used before']);
  });

  it('refuses when a required property is missing', () => {
    const rep = decodeInterfaceReport(evidence.report.bytes);
    const info = { ...rep.interfaceInfo, noUpdateAfterLock: false, atsSupported: true };
    const bytes = encodeInterfaceReport({ ...rep, interfaceInfo: info });
    let r = refused(
      verifyEvidence(policy, request, { ...evidence, report: { ...evidence.report, bytes } }),
    );
    assert.deepEqual(r.messages, [
      'INTERFACE_INFO noUpdateAfterLock is false, the policy requires true',
      'INTERFACE_INFO atsSupported is true, the policy requires false',
    ]);
    r = refused(verifyEvidence(policy, request, { ...evidence, lockFlags: 0x2 | 0x8 }));
    assert.deepEqual(r.messages, [
      'locked without NO_FW_UPDATE (flags 0xa)',
      'locked without LOCK_MSIX (flags 0xa)',
      'locked with BIND_P2P (flags 0xa)',
    ]);
    r = refused(verifyEvidence(policy, request, { ...evidence, firmwareUpdatedAfterLock: true }));
    assert.deepEqual(r.checks, ['firmware-update']);
  });

  it('refuses a report whose locked configuration or reserved bits differ', () => {
    const rep = decodeInterfaceReport(evidence.report.bytes);
    const ranges = rep.mmioRanges.map((r, i) =>
      i === 0 ? { ...r, attributes: { ...r.attributes, nonTee: true, other: 0x10 } } : r,
    );
    const changed = {
      ...rep,
      reserved: 1,
      msixMessageControl: rep.msixMessageControl ^ 0x8000,
      mmioRanges: ranges,
    };
    const bytes = encodeInterfaceReport(changed);
    const r = refused(
      verifyEvidence(policy, request, { ...evidence, report: { ...evidence.report, bytes } }),
    );
    assert.deepEqual(r.checks, [
      'report-fields',
      'report-fields',
      'report-fields',
      'report-fields',
    ]);
    assert.equal(r.messages[0], 'reserved bytes 2-3 are 0x1');
    assert.equal(r.messages[1], 'range 0 RANGE_ATTRIBUTES reserved bits 0x10 set');
    assert.match(r.messages[2], /^msixMessageControl is 0x[0-9a-f]+, the policy requires 0x/);
    assert.equal(
      r.messages[3],
      'range 0 attributes are nonTee, updatable, the policy requires updatable',
    );
  });

  it('refuses a TDI not CONFIG_LOCKED, and a leaf without a required extension', () => {
    let r = refused(verifyEvidence(policy, request, { ...evidence, tdiState: 'CONFIG_UNLOCKED' }));
    assert.deepEqual(r.messages, ['TDI is CONFIG_UNLOCKED, the policy accepts CONFIG_LOCKED']);
    const p = { ...policy, leaf: { ...policy.leaf, pcieSan: 'not this device' } };
    r = refused(verifyEvidence(p, request, evidence));
    assert.deepEqual(r.checks, ['leaf']);
  });

  it('names every failed check at once', () => {
    const e = { ...evidence, nonce: new Uint8Array(32), tdiState: 'RUN' as const, lockFlags: 0 };
    const r = refused(verifyEvidence({ ...policy, trustAnchors: [other.dev.root] }, request, e));
    assert.deepEqual(r.checks, ['freshness', 'tdi-state', 'chain', 'lock-flags', 'lock-flags']);
  });

  it('never accepts a report or chain with one byte corrupted', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (inReport, at, flip) => {
          const src = inReport ? evidence.report.bytes : evidence.certChain;
          const bytes = src.slice();
          bytes[at % bytes.length] ^= flip;
          const e = inReport
            ? { ...evidence, report: { ...evidence.report, bytes } }
            : { ...evidence, certChain: bytes };
          return verifyEvidence(policy, request, e).ok === false;
        },
      ),
      { numRuns: 300 },
    );
  });
});
