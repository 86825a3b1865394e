/**
 * The suite tells a broken responder from a good one: teeio's device with the 'spec'
 * behaviour and one DSM switch turned the 'spdm-emu' way (a seeded flaw) fails the cases
 * that check that rule, and only a few; the same cases pass without the flaw (the spec
 * runs of conformance.test.ts). Each flaw gets its own in-process server, all in parallel.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runConformance, textReport } from '../../src/conformance/index.ts';
import { BEHAVIOURS, type Behaviour } from '../../src/device/dsm/behaviour.ts';
import {
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
} from '../../src/wire/tdisp/constants.ts';
import { serveDevice } from './support.ts';

const FLAWS: {
  name: string;
  overrides: Partial<Omit<Behaviour, 'name'>>;
  /** The cases that must fail. */
  fails: string[];
}[] = [
  {
    name: 'GET_TDISP_VERSION re-creates the interface',
    overrides: { versionRecreatesInterface: true },
    fails: ['tdisp.version.keeps-locked'],
  },
  {
    name: 'no ERROR state',
    overrides: { entersError: false },
    fails: ['tdisp.error.k-set-stop-in-run', 'tdisp.error.locking-session-ended'],
  },
  {
    name: 'TDISP answered in the clear',
    overrides: { tdispOutsideSession: 'process' },
    fails: ['tdisp.outside-session'],
  },
  {
    name: 'LOCK without the IDE keys',
    overrides: { lockNeedsIdeKeys: false },
    fails: [
      'tdisp.lock.without-ide-keys',
      'tdisp.lock.keys-of-another-session',
      'ide-km.k-set.unprogrammed-key-set-not-usable',
    ],
  },
  {
    name: 'the report ignores MMIO_REPORTING_OFFSET',
    overrides: { reportAppliesMmioOffset: false },
    fails: ['tdisp.report.mmio-reporting-offset'],
  },
  {
    name: 'GET_DEVICE_INTERFACE_REPORT in CONFIG_UNLOCKED refused with the wrong error',
    overrides: {
      illegalStateError: {
        [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
      },
    },
    // in ERROR too, which the spdm-emu behaviour never reaches
    fails: [
      'tdisp.report.unlocked',
      'tdisp.legality.get-device-interface-report.config-unlocked',
      'tdisp.legality.get-device-interface-report.error',
    ],
  },
  {
    name: "spdm-emu's legality table (STOP refused in CONFIG_UNLOCKED)",
    overrides: { legalStates: BEHAVIOURS['spdm-emu'].legalStates },
    fails: ['tdisp.stop.from-config-unlocked'],
  },
  {
    name: 'IDE_KM answered in the clear',
    overrides: { ideKmOutsideSession: 'process' },
    fails: ['ide-km.outside-session'],
  },
  {
    name: 'a short KEY_PROG gets SPDM ERROR',
    overrides: { keyProgBadLength: 'spdm-error' },
    fails: ['ide-km.key-prog.wrong-length'],
  },
];

describe('seeded responder flaws: each switch makes its cases fail', { concurrency: true }, () => {
  for (const f of FLAWS) {
    it(f.name, async () => {
      const d = await serveDevice('spec', 'pci_doe', undefined, { overrides: f.overrides });
      try {
        // the flaw's cases, plus the rest of their groups: only the flaw's cases fail
        const groups = [...new Set(f.fails.map((id) => id.split('.')[0]))].join(',');
        const rs = await runConformance(d.target, { only: groups });
        const failed = rs.filter((r) => r.outcome.status === 'fail').map((r) => r.id);
        for (const id of f.fails) assert.ok(failed.includes(id), `${id} fails\n${textReport(rs)}`);
        assert.deepEqual(failed.sort(), [...f.fails].sort(), textReport(rs));
      } finally {
        await d.server.close();
      }
    });
  }
});
