/**
 * GET_DEVICE_INTERFACE_REPORT -> DEVICE_INTERFACE_REPORT (PCIe 6.x 11.3.10 / 11.3.11): the
 * report is built from the live configuration at request time and served in portions no
 * longer than the requested LENGTH (nor the behaviour's portion limit). An OFFSET outside
 * the report or a zero LENGTH is INVALID_REQUEST. A configuration that changed since LOCK
 * without an ERROR trigger reaching the DSM sends the TDI to ERROR instead of being reported.
 * The 'spdm-emu' behaviour leaves MMIO_REPORTING_OFFSET out of the ranges' FIRST_PAGE.
 */

import { WireError } from '../../../wire/errors.ts';
import {
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_ERROR_CODE_UNSPECIFIED,
} from '../../../wire/tdisp/constants.ts';
import type { GetDeviceInterfaceReport } from '../../../wire/tdisp/messages.ts';
import {
  encodeInterfaceReport,
  type ReportPortion,
  splitReport,
} from '../../../wire/tdisp/report.ts';
import { buildInterfaceReport, configDrift } from '../interface-report.ts';
import { errorTdi } from '../tdi.ts';
import {
  fail,
  responseHeader,
  type TdispContext,
  type TdispHandler,
  type TdispOutcome,
} from './common.ts';

/** ERROR for a locked TDI whose configuration drifted (spec behaviour), else undefined. */
export function driftCheck(c: TdispContext): TdispOutcome | undefined {
  if (c.tdi.state !== 'CONFIG_LOCKED' && c.tdi.state !== 'RUN') return undefined;
  if (!c.env.behaviour.entersError) return undefined;
  const drift = configDrift(c.tdi.lock.snapshot, c.view);
  if (drift.length === 0) return undefined;
  return {
    kind: 'error',
    errorCode: PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
    errorData: 0,
    next: errorTdi(c.tdi, `configuration changed since LOCK: ${drift.join(', ')}`),
  };
}

export const handleGetReport: TdispHandler<GetDeviceInterfaceReport> = (req, c) => {
  // check state
  if (c.tdi.state !== 'CONFIG_LOCKED' && c.tdi.state !== 'RUN') {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE);
  }
  const drifted = driftCheck(c);
  if (drifted) return drifted;
  // process ('spdm-emu' reports the ranges where they are, whatever the LOCK asked)
  const lock = c.env.behaviour.reportAppliesMmioOffset
    ? c.tdi.lock
    : { ...c.tdi.lock, mmioReportingOffset: 0n };
  const report = encodeInterfaceReport(
    buildInterfaceReport(c.view, lock, {
      mmioAttributeUpdatable: c.env.mmioAttributeUpdatable,
      deviceSpecificInfo:
        c.view.deviceSpecificInfo ?? c.env.deviceSpecificInfo(c.fn) ?? new Uint8Array(),
    }),
  );
  let part: ReportPortion;
  try {
    part = splitReport(report, req.offset, req.length, c.env.behaviour.reportPortionMax);
  } catch (e) {
    return fail(
      e instanceof WireError
        ? PCI_TDISP_ERROR_CODE_INVALID_REQUEST
        : PCI_TDISP_ERROR_CODE_UNSPECIFIED,
    );
  }
  // respond
  return {
    kind: 'response',
    response: {
      ...responseHeader(req, c.env),
      code: PCI_TDISP_DEVICE_INTERFACE_REPORT,
      portion: part.portion,
      remainderLength: part.remainderLength,
    },
  };
};
