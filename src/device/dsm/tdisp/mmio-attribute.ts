/**
 * SET_MMIO_ATTRIBUTE_REQUEST -> SET_MMIO_ATTRIBUTE_RESPONSE (PCIe 6.x 11.3.22 / 11.3.23):
 * in RUN, on the locking session, for a range the report marks IS_MEM_ATTR_UPDATABLE,
 * naming it exactly (FIRST_PAGE, NUMBER_OF_PAGES, RANGE_ID as reported). Only
 * IS_NON_TEE_MEM may be set. The change steers the T-bit policy; the report keeps showing
 * the attribute as it was at LOCK, as the spec asks. Failures are INVALID_REQUEST and leave
 * the TDI as it was.
 */
import {
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
} from '../../../wire/tdisp/constants.ts';
import type { SetMmioAttributeRequest } from '../../../wire/tdisp/messages.ts';
import { firstPage, PAGE_SIZE, reportedRanges } from '../interface-report.ts';
import { type MmioAttributeOverride, sameSession } from '../tdi.ts';
import { fail, responseHeader, type TdispHandler } from './common.ts';

export const handleSetMmioAttribute: TdispHandler<SetMmioAttributeRequest> = (req, c) => {
  // validate
  const a = req.mmioRange.attributes;
  if (a.msixTable || a.msixPba || a.updatable || a.other !== undefined) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  // check state
  const tdi = c.tdi;
  if (tdi.state !== 'RUN') return fail(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE);
  if (!sameSession(tdi.lock.session, c.session)) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  if (!c.env.mmioAttributeUpdatable) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  const bars = new Map(c.view.bars.map((b) => [b.index, b]));
  const range = reportedRanges(c.view, tdi.lock.msixLocked).find(
    (r) =>
      r.kind === 'tee' &&
      r.bar === req.mmioRange.rangeId &&
      firstPage(bars.get(r.bar)!, r.offset, tdi.lock.mmioReportingOffset) ===
        req.mmioRange.firstPage &&
      BigInt(req.mmioRange.numberOfPages) * PAGE_SIZE === r.size,
  );
  if (range === undefined) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  // process
  const override: MmioAttributeOverride = {
    bar: range.bar,
    offset: range.offset,
    size: range.size,
    nonTee: a.nonTee,
  };
  const others = tdi.mmioAttributes.filter(
    (o) => !(o.bar === range.bar && o.offset === range.offset),
  );
  // respond + update
  return {
    kind: 'response',
    response: { ...responseHeader(req, c.env), code: PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP },
    next: { ...tdi, mmioAttributes: [...others, override] },
  };
};
