/**
 * The conformance suite against teeio's own device: with the 'spec' behaviour every case
 * passes or skips with a reason, on both transports at SPDM 1.2 and 1.3 (the four runs in
 * parallel, each against its own in-process server); HEARTBEAT against a 1 s period;
 * with the 'spdm-emu' behaviour the departures of libspdm's sample responder fail, each by
 * its case id, and under --profile spdm-emu they are expected deviations. JUnit output
 * parses as XML with the right counts, --only filters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  applyProfile,
  type CaseResult,
  junitReport,
  PROFILES,
  runConformance,
  selectCases,
  textReport,
  totals,
} from '../../src/conformance/index.ts';
import { DEFAULT_RESPONDER_CAPABILITIES } from '../../src/spdm/config.ts';
import { SPDM_CAP } from '../../src/wire/spdm/constants.ts';
import { serveDevice } from './support.ts';

const failures = (rs: CaseResult[]) =>
  rs.filter((r) => r.outcome.status === 'fail').map((r) => r.id);

/** The device claims HANDSHAKE_IN_THE_CLEAR_CAP too, so both handshakes are exercised. */
const SPEC_RESPONDER = {
  capabilities:
    DEFAULT_RESPONDER_CAPABILITIES |
    SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT |
    SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP,
};

/** Cases that must run (not skip) against teeio's device. */
const MUST_RUN = [
  'spdm.session.handshake-in-the-clear',
  'spdm.session.handshake-encrypted-when-clear-offered',
  'spdm.session.psk-finish-in-key-exchange-session',
  'spdm.session.finish-in-psk-session',
  'spdm.handshake-phase.key-update',
  'spdm.algs.invalid.struct-order',
  'tdisp.error.report-and-start-refused',
  'tdisp.stop.from-error',
];

describe('teeio conformance against teeio device --behaviour spec', { concurrency: true }, () => {
  for (const binding of ['pci_doe', 'mctp'] as const) {
    for (const version of [0x12, 0x13]) {
      const v = `${version >> 4}.${version & 0xf}`;
      it(`${binding}, SPDM ${v}: no case fails; every skip says why`, async () => {
        const d = await serveDevice('spec', binding, [version], { responder: SPEC_RESPONDER });
        try {
          const rs = await runConformance({ ...d.target, versions: [version] });
          assert.deepEqual(failures(rs), [], textReport(rs));
          assert.ok(rs.length >= 140, `${rs.length} cases`);
          for (const r of rs) {
            if (r.outcome.status === 'skip') assert.ok(r.outcome.why.length > 0, r.id);
          }
          for (const id of MUST_RUN) {
            assert.equal(rs.find((r) => r.id === id)?.outcome.status, 'pass', id);
          }
          assert.ok(totals(rs).passed >= 125, textReport(rs));
        } finally {
          await d.server.close();
        }
      });
    }
  }

  it('HEARTBEAT with a 1 s period: heartbeats keep the session, silence ends it', async () => {
    const d = await serveDevice('spec', 'pci_doe', undefined, {
      responder: { heartbeatPeriod: 1 },
    });
    try {
      const rs = await runConformance(d.target, { only: 'spdm.session.heartbeat*' });
      assert.deepEqual(
        rs.map((r) => `${r.id} ${r.outcome.status}`),
        [
          'spdm.session.heartbeat pass',
          'spdm.session.heartbeat-in-clear pass',
          'spdm.session.heartbeat.keeps-session pass',
          'spdm.session.heartbeat.expires pass',
        ],
        textReport(rs),
      );
    } finally {
      await d.server.close();
    }
  });

  it('the default period (240 s) is too long to wait: the timing cases skip saying so', async () => {
    const d = await serveDevice('spec');
    try {
      const rs = await runConformance(d.target, { only: 'spdm.session.heartbeat.*' });
      for (const r of rs) {
        assert.equal(r.outcome.status, 'skip', r.id);
        assert.match(r.outcome.status === 'skip' ? r.outcome.why : '', /240 s/);
      }
    } finally {
      await d.server.close();
    }
  });
});

describe('teeio conformance against teeio device --behaviour spdm-emu', () => {
  let d: Awaited<ReturnType<typeof serveDevice>>;
  let rs: CaseResult[];
  before(async () => {
    d = await serveDevice('spdm-emu');
    rs = await runConformance(d.target);
  });
  after(() => d.server.close());

  it("reports libspdm's sample departures that teeio reproduces, each by its case id", () => {
    assert.deepEqual(
      failures(rs).sort(),
      [
        // LOCK_INTERFACE_REQUEST accepted before (or without) the stream's IDE keys
        'tdisp.lock.without-ide-keys',
        'tdisp.lock.keys-of-another-session',
        'ide-km.k-set.unprogrammed-key-set-not-usable',
        // TDISP answered outside a secured session
        'tdisp.outside-session',
        // the interface is re-created by GET_TDISP_VERSION
        'tdisp.version.keeps-locked',
        // the report ignores MMIO_REPORTING_OFFSET
        'tdisp.report.mmio-reporting-offset',
        // it never enters ERROR
        'tdisp.error.k-set-stop-in-run',
        'tdisp.error.locking-session-ended',
        // GET_DEVICE_INTERFACE_REPORT in CONFIG_UNLOCKED answered with INVALID_REQUEST
        'tdisp.report.unlocked',
        'tdisp.legality.get-device-interface-report.config-unlocked',
        // STOP refused in CONFIG_UNLOCKED
        'tdisp.stop.from-config-unlocked',
        // IDE_KM answered outside a secured session
        'ide-km.outside-session',
        // a short KEY_PROG gets SPDM ERROR instead of KP_ACK IncorrectLength
        'ide-km.key-prog.wrong-length',
      ].sort(),
      textReport(rs),
    );
  });

  it('--profile spdm-emu: each departure an expected deviation, nothing failed, the absent server exits reported as not seen', () => {
    const profiled = rs.map((r) => applyProfile(PROFILES['spdm-emu'], r));
    assert.deepEqual(failures(profiled), [], textReport(profiled, { profile: 'spdm-emu' }));
    const deviations = profiled.filter((r) => r.outcome.status === 'deviation').map((r) => r.id);
    assert.deepEqual(deviations.sort(), failures(rs).sort());
    assert.deepEqual(
      profiled.filter((r) => r.deviationNotSeen !== undefined).map((r) => r.id),
      // teeio's server survives both frames spdm-emu's exits on
      ['robustness.wrong-transport-type', 'robustness.huge-size'],
    );
    const t = totals(profiled);
    const text = textReport(profiled, { profile: 'spdm-emu' });
    assert.equal(
      text.split('\n').at(-1),
      `${t.passed} passed, 0 failed, ${t.skipped} skipped, ${deviations.length} expected deviations`,
    );
    assert.match(
      text,
      /^profile spdm-emu: 2 expected deviations not seen: robustness\.wrong-transport-type, robustness\.huge-size$/m,
    );
    assert.match(text, /^ {2}DEVN {2}tdisp\.outside-session /m);
    assert.match(text, /^ {8}expected deviation: TDISP is answered outside a secured session$/m);
    // without the profile the same results close with the three counts only
    assert.match(textReport(rs).split('\n').at(-1)!, /^\d+ passed, \d+ failed, \d+ skipped$/);
  });

  it('skips the ERROR-state cases with the reason, since the TDI never gets there', () => {
    const r = rs.find((x) => x.id === 'tdisp.stop.from-error')!;
    assert.equal(r.outcome.status, 'skip');
    assert.match(r.outcome.status === 'skip' ? r.outcome.why : '', /did not enter ERROR/);
  });

  it('JUnit output is XML with one testcase per case and the failures counted', () => {
    const xml = junitReport(rs);
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
    const t = totals(rs);
    assert.match(
      xml,
      new RegExp(
        `<testsuites name="teeio conformance" tests="${rs.length}" failures="${t.failed}" skipped="${t.skipped}"`,
      ),
    );
    assert.equal((xml.match(/<testcase /g) ?? []).length, rs.length);
    assert.equal((xml.match(/<failure /g) ?? []).length, t.failed);
    assert.equal((xml.match(/<skipped /g) ?? []).length, t.skipped);
    // well-formed: every element opened is closed, in order
    const stack: string[] = [];
    for (const m of xml.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
      if (m[3]) continue;
      if (m[1]) assert.equal(stack.pop(), m[2]);
      else stack.push(m[2]);
    }
    assert.deepEqual(stack, []);
    assert.doesNotMatch(xml.replace(/&(amp|lt|gt|quot);/g, ''), /&/);
  });
});

describe('--only', () => {
  it('selects by group prefix, by glob and by list', () => {
    const ide = selectCases('ide-km');
    assert.ok(ide.length > 10 && ide.every((c) => c.group === 'ide-km'));
    assert.deepEqual(
      selectCases('tdisp.stop.*').map((c) => c.id),
      [
        'tdisp.stop.from-config-unlocked',
        'tdisp.stop.from-config-locked',
        'tdisp.stop.from-run',
        'tdisp.stop.from-error',
      ],
    );
    assert.deepEqual(
      selectCases('spdm.version.restart,robustness.huge-size').map((c) => c.id),
      ['spdm.version.restart', 'robustness.huge-size'],
    );
    assert.equal(selectCases('nothing.*').length, 0);
  });

  it('runs only the selected cases', async () => {
    const d = await serveDevice('spec');
    try {
      const rs = await runConformance(d.target, { only: 'robustness.*' });
      assert.ok(rs.length >= 5 && rs.every((r) => r.id.startsWith('robustness.')));
      assert.deepEqual(failures(rs), []);
    } finally {
      await d.server.close();
    }
  });
});
