/**
 * The TDISP DEVICE_INTERFACE_REPORT structure (PCIe Base 6.x chapter 11, "TDI Report"
 * structure returned by GET_DEVICE_INTERFACE_REPORT), its MMIO_RANGE entries, and the
 * portion handling on both sides: `ReportAssembler` for requesters (PortionLength /
 * RemainderLength checked portion by portion) and `splitReport` for responders.
 *
 * Layout: INTERFACE_INFO u16 | reserved u16 | MSI_X_MESSAGE_CONTROL u16 | LNR_CONTROL u16 |
 * TPH_CONTROL u32 | MMIO_RANGE_COUNT u32 | MMIO_RANGE[count] (16 bytes each) |
 * DEVICE_SPECIFIC_INFO_LEN u32 | DEVICE_SPECIFIC_INFO.
 */
import { WireError } from '../errors.ts';
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import {
  PCI_TDISP_HEADER_SIZE,
  PCI_TDISP_INTERFACE_INFO_ATS_SUPPORTED,
  PCI_TDISP_INTERFACE_INFO_DMA_WITH_PASID,
  PCI_TDISP_INTERFACE_INFO_DMA_WITHOUT_PASID,
  PCI_TDISP_INTERFACE_INFO_NO_UPDATE_AFTER_LOCK,
  PCI_TDISP_INTERFACE_INFO_PRS_SUPPORTED,
  PCI_TDISP_INTERFACE_INFO_XT_MODE_SUPPORTED,
  PCI_TDISP_MMIO_RANGE_ATTRIBUTES_IS_MEM_ATTR_UPDATABLE,
  PCI_TDISP_MMIO_RANGE_ATTRIBUTES_IS_NON_TEE_MEM,
  PCI_TDISP_MMIO_RANGE_ATTRIBUTES_MSIX_PBA,
  PCI_TDISP_MMIO_RANGE_ATTRIBUTES_MSIX_TABLE,
  PCI_TDISP_MMIO_RANGE_SIZE,
} from './constants.ts';

const PROTOCOL = 'TDISP';
const REPORT = 'INTERFACE_REPORT';

/** RANGE_ATTRIBUTES of one MMIO range, bits named. */
export interface MmioRangeAttributes {
  /** Bit 0: the range holds the MSI-X table. */
  msixTable: boolean;
  /** Bit 1: the range holds the MSI-X PBA. */
  msixPba: boolean;
  /** Bit 2: IS_NON_TEE_MEM, the range is not TEE memory. */
  nonTee: boolean;
  /** Bit 3: IS_MEM_ATTR_UPDATABLE, SET_MMIO_ATTRIBUTE may change the range. */
  updatable: boolean;
  /** Bits 15:4 as they sit in the field (mask 0xfff0); absent when zero. */
  other?: number;
}

export interface MmioRange {
  /**
   * FIRST_PAGE as sent (u64). The PCIe text describes it as the first 4 KiB page with
   * MMIO_REPORTING_OFFSET added; libspdm's header calls it a byte address, and spdm-emu's
   * sample device reports BAR byte offsets without the offset. Kept raw.
   */
  firstPage: bigint;
  numberOfPages: number;
  attributes: MmioRangeAttributes;
  rangeId: number;
}

/** INTERFACE_INFO, bits named. */
export interface InterfaceInfo {
  /** Bit 0: firmware updates are not permitted after LOCK. */
  noUpdateAfterLock: boolean;
  /** Bit 1: the TDI generates DMA without PASID. */
  dmaWithoutPasid: boolean;
  /** Bit 2: the TDI generates DMA with PASID. */
  dmaWithPasid: boolean;
  /** Bit 3: ATS supported and enabled. */
  atsSupported: boolean;
  /** Bit 4: PRS supported and enabled. */
  prsSupported: boolean;
  /** Bit 5 (TDISP 1.1): XT mode supported. */
  xtModeSupported: boolean;
  /** Bits 15:6 as they sit in the field (mask 0xffc0); absent when zero. */
  other?: number;
}

export interface InterfaceReport {
  interfaceInfo: InterfaceInfo;
  /** Bytes 2-3, reserved. */
  reserved?: number;
  msixMessageControl: number;
  lnrControl: number;
  tphControl: number;
  mmioRanges: readonly MmioRange[];
  deviceSpecificInfo: Uint8Array;
}

const ATTR_OTHER_MASK = 0xfff0;
const INFO_OTHER_MASK = 0xffc0;

/** Splits RANGE_ATTRIBUTES (every u16 decodes). */
export function decodeRangeAttributes(v: number): MmioRangeAttributes {
  const a: MmioRangeAttributes = {
    msixTable: (v & PCI_TDISP_MMIO_RANGE_ATTRIBUTES_MSIX_TABLE) !== 0,
    msixPba: (v & PCI_TDISP_MMIO_RANGE_ATTRIBUTES_MSIX_PBA) !== 0,
    nonTee: (v & PCI_TDISP_MMIO_RANGE_ATTRIBUTES_IS_NON_TEE_MEM) !== 0,
    updatable: (v & PCI_TDISP_MMIO_RANGE_ATTRIBUTES_IS_MEM_ATTR_UPDATABLE) !== 0,
  };
  if (v & ATTR_OTHER_MASK) a.other = v & ATTR_OTHER_MASK;
  return a;
}

/** @throws RangeError when `other` has bits outside 15:4. */
export function encodeRangeAttributes(a: MmioRangeAttributes): number {
  const other = a.other ?? 0;
  if (!Number.isInteger(other) || (other & ~ATTR_OTHER_MASK) !== 0) {
    throw new RangeError(`attributes.other: 0x${other.toString(16)} is outside bits 15:4`);
  }
  return (
    (a.msixTable ? PCI_TDISP_MMIO_RANGE_ATTRIBUTES_MSIX_TABLE : 0) |
    (a.msixPba ? PCI_TDISP_MMIO_RANGE_ATTRIBUTES_MSIX_PBA : 0) |
    (a.nonTee ? PCI_TDISP_MMIO_RANGE_ATTRIBUTES_IS_NON_TEE_MEM : 0) |
    (a.updatable ? PCI_TDISP_MMIO_RANGE_ATTRIBUTES_IS_MEM_ATTR_UPDATABLE : 0) |
    other
  );
}

/** Splits INTERFACE_INFO (every u16 decodes). */
export function decodeInterfaceInfo(v: number): InterfaceInfo {
  const i: InterfaceInfo = {
    noUpdateAfterLock: (v & PCI_TDISP_INTERFACE_INFO_NO_UPDATE_AFTER_LOCK) !== 0,
    dmaWithoutPasid: (v & PCI_TDISP_INTERFACE_INFO_DMA_WITHOUT_PASID) !== 0,
    dmaWithPasid: (v & PCI_TDISP_INTERFACE_INFO_DMA_WITH_PASID) !== 0,
    atsSupported: (v & PCI_TDISP_INTERFACE_INFO_ATS_SUPPORTED) !== 0,
    prsSupported: (v & PCI_TDISP_INTERFACE_INFO_PRS_SUPPORTED) !== 0,
    xtModeSupported: (v & PCI_TDISP_INTERFACE_INFO_XT_MODE_SUPPORTED) !== 0,
  };
  if (v & INFO_OTHER_MASK) i.other = v & INFO_OTHER_MASK;
  return i;
}

/** @throws RangeError when `other` has bits outside 15:6. */
export function encodeInterfaceInfo(i: InterfaceInfo): number {
  const other = i.other ?? 0;
  if (!Number.isInteger(other) || (other & ~INFO_OTHER_MASK) !== 0) {
    throw new RangeError(`interfaceInfo.other: 0x${other.toString(16)} is outside bits 15:6`);
  }
  return (
    (i.noUpdateAfterLock ? PCI_TDISP_INTERFACE_INFO_NO_UPDATE_AFTER_LOCK : 0) |
    (i.dmaWithoutPasid ? PCI_TDISP_INTERFACE_INFO_DMA_WITHOUT_PASID : 0) |
    (i.dmaWithPasid ? PCI_TDISP_INTERFACE_INFO_DMA_WITH_PASID : 0) |
    (i.atsSupported ? PCI_TDISP_INTERFACE_INFO_ATS_SUPPORTED : 0) |
    (i.prsSupported ? PCI_TDISP_INTERFACE_INFO_PRS_SUPPORTED : 0) |
    (i.xtModeSupported ? PCI_TDISP_INTERFACE_INFO_XT_MODE_SUPPORTED : 0) |
    other
  );
}

/** Reads one 16-byte MMIO_RANGE. @throws WireError 'truncated' when fewer than 16 bytes remain. */
export function readMmioRange(r: Reader, field = 'MMIO_RANGE'): MmioRange {
  return {
    firstPage: r.u64(`${field}.FIRST_PAGE`),
    numberOfPages: r.u32(`${field}.NUMBER_OF_PAGES`),
    attributes: decodeRangeAttributes(r.u16(`${field}.RANGE_ATTRIBUTES`)),
    rangeId: r.u16(`${field}.RANGE_ID`),
  };
}

/** Writes one 16-byte MMIO_RANGE. @throws RangeError when a field does not fit. */
export function writeMmioRange(w: Writer, m: MmioRange): void {
  w.u64(m.firstPage, 'FIRST_PAGE')
    .u32(m.numberOfPages, 'NUMBER_OF_PAGES')
    .u16(encodeRangeAttributes(m.attributes), 'RANGE_ATTRIBUTES')
    .u16(m.rangeId, 'RANGE_ID');
}

/**
 * Decodes a whole (reassembled) interface report.
 * @throws WireError 'truncated' when a count or length claims more bytes than are there
 *   (checked before anything is allocated), 'trailing' on bytes after the structure.
 */
export function decodeInterfaceReport(bytes: Uint8Array): InterfaceReport {
  const r = new Reader(bytes, PROTOCOL, REPORT);
  const interfaceInfo = decodeInterfaceInfo(r.u16('INTERFACE_INFO'));
  const reserved = r.reservedU16('Reserved');
  const msixMessageControl = r.u16('MSI_X_MESSAGE_CONTROL');
  const lnrControl = r.u16('LNR_CONTROL');
  const tphControl = r.u32('TPH_CONTROL');
  const countAt = r.offset;
  const count = r.u32('MMIO_RANGE_COUNT');
  // The count comes from the peer: refuse it before allocating when the bytes cannot hold it.
  if (count > Math.floor(r.remaining / PCI_TDISP_MMIO_RANGE_SIZE)) {
    throw r.error(
      'MMIO_RANGE_COUNT',
      'truncated',
      `${count} ranges need ${count * PCI_TDISP_MMIO_RANGE_SIZE} bytes, have ${r.remaining}`,
      countAt,
    );
  }
  const mmioRanges: MmioRange[] = new Array(count);
  for (let i = 0; i < count; i++) mmioRanges[i] = readMmioRange(r, `MMIO_RANGE[${i}]`);
  const infoLen = r.u32('DEVICE_SPECIFIC_INFO_LEN');
  const deviceSpecificInfo = r.bytes(infoLen, 'DEVICE_SPECIFIC_INFO');
  r.end();
  const report: InterfaceReport = {
    interfaceInfo,
    msixMessageControl,
    lnrControl,
    tphControl,
    mmioRanges,
    deviceSpecificInfo,
  };
  if (reserved !== undefined) report.reserved = reserved;
  return report;
}

/** Encodes an interface report. @throws RangeError when a field does not fit. */
export function encodeInterfaceReport(rep: InterfaceReport): Uint8Array {
  const w = new Writer(
    24 + rep.mmioRanges.length * PCI_TDISP_MMIO_RANGE_SIZE + rep.deviceSpecificInfo.length,
  );
  w.u16(encodeInterfaceInfo(rep.interfaceInfo), 'INTERFACE_INFO')
    .u16(rep.reserved ?? 0, 'Reserved')
    .u16(rep.msixMessageControl, 'MSI_X_MESSAGE_CONTROL')
    .u16(rep.lnrControl, 'LNR_CONTROL')
    .u32(rep.tphControl, 'TPH_CONTROL')
    .u32(rep.mmioRanges.length, 'MMIO_RANGE_COUNT');
  for (const m of rep.mmioRanges) writeMmioRange(w, m);
  w.u32(rep.deviceSpecificInfo.length, 'DEVICE_SPECIFIC_INFO_LEN').bytes(rep.deviceSpecificInfo);
  return w.finish();
}

/** One DEVICE_INTERFACE_REPORT response's payload (the TDISP message has these two fields). */
export interface ReportPortion {
  portion: Uint8Array;
  remainderLength: number;
}

/** The Offset / Length of the next GET_DEVICE_INTERFACE_REPORT. */
export interface ReportRequest {
  offset: number;
  length: number;
}

// Byte offsets of the fields in DEVICE_INTERFACE_REPORT / GET_DEVICE_INTERFACE_REPORT,
// so assembler errors point where a decoder error would.
const AT_FIRST = PCI_TDISP_HEADER_SIZE;
const AT_SECOND = PCI_TDISP_HEADER_SIZE + 2;

/** spdm-emu's requester and responder both use 64-byte portions (LIBTDISP_INTERFACE_REPORT_PORTION_LEN). */
export const DEFAULT_REPORT_PORTION_LENGTH = 0x40;

/**
 * Requester side of the portion loop: feed it each DEVICE_INTERFACE_REPORT in order; it
 * checks that every portion is consistent with the first one (offset + PortionLength +
 * RemainderLength equals the total the first portion announced) and yields the whole report
 * when RemainderLength reaches 0. `nextRequest()` says what to ask for next.
 */
export class ReportAssembler {
  private readonly parts: Uint8Array[] = [];
  private received = 0;
  private total: number | undefined;
  private readonly portionLength: number;
  private readonly maxLength: number;

  /**
   * @param opts.portionLength Length to request per portion (default 64, as spdm-emu).
   * @param opts.maxLength Largest whole report accepted (default: what u16 Offset + u16
   *   PortionLength can address).
   * @throws RangeError when portionLength is not 1..0xffff.
   */
  constructor(opts: { portionLength?: number; maxLength?: number } = {}) {
    this.portionLength = opts.portionLength ?? DEFAULT_REPORT_PORTION_LENGTH;
    if (!Number.isInteger(this.portionLength) || this.portionLength < 1) {
      throw new RangeError(`portionLength: ${this.portionLength} is not 1..0xffff`);
    }
    if (this.portionLength > 0xffff) throw new RangeError('portionLength: exceeds u16');
    this.maxLength = opts.maxLength ?? 0xffff + 0xffff;
  }

  /** Bytes received so far: the Offset of the next request. */
  get offset(): number {
    return this.received;
  }

  /** The total report length, known once the first portion arrived. */
  get totalLength(): number | undefined {
    return this.total;
  }

  get done(): boolean {
    return this.total !== undefined && this.received === this.total;
  }

  /** Offset / Length of the next GET_DEVICE_INTERFACE_REPORT, or undefined when complete. */
  nextRequest(): ReportRequest | undefined {
    if (this.total === undefined) return { offset: 0, length: this.portionLength };
    if (this.done) return undefined;
    return {
      offset: this.received,
      length: Math.min(this.portionLength, this.total - this.received),
    };
  }

  /**
   * Adds the next portion. Returns the whole report when this portion completes it.
   * @param requestedLength The Length of the request this answers, when the caller wants
   *   PortionLength checked against it.
   * @throws WireError ('TDISP', 'DEVICE_INTERFACE_REPORT') when the portion is longer than
   *   requested, makes no progress, contradicts the total announced by the first portion,
   *   arrives after the report is complete, or the total exceeds maxLength ('too-large').
   */
  add(p: ReportPortion, requestedLength?: number): Uint8Array | undefined {
    const len = p.portion.length;
    const fail = (field: string, at: number, kind: 'bad-field' | 'too-large', why: string) =>
      new WireError(PROTOCOL, 'DEVICE_INTERFACE_REPORT', field, at, kind, why);
    if (this.done) throw fail('PortionLength', AT_FIRST, 'bad-field', 'report already complete');
    if (requestedLength !== undefined && len > requestedLength) {
      throw fail('PortionLength', AT_FIRST, 'bad-field', `${len} > requested ${requestedLength}`);
    }
    if (len === 0 && p.remainderLength !== 0) {
      throw fail('PortionLength', AT_FIRST, 'bad-field', 'empty portion with bytes remaining');
    }
    if (this.total === undefined) {
      const total = len + p.remainderLength;
      if (total > this.maxLength) {
        throw fail('RemainderLength', AT_SECOND, 'too-large', `report of ${total} bytes`);
      }
      this.total = total;
    } else if (this.received + len + p.remainderLength !== this.total) {
      throw fail(
        'RemainderLength',
        AT_SECOND,
        'bad-field',
        `offset ${this.received} + portion ${len} + remainder ${p.remainderLength} != total ${this.total}`,
      );
    }
    this.parts.push(p.portion.slice());
    this.received += len;
    if (!this.done && this.received > 0xffff) {
      // The rest cannot be asked for: GET_DEVICE_INTERFACE_REPORT's Offset is a u16.
      throw fail('RemainderLength', AT_SECOND, 'too-large', 'next offset exceeds u16');
    }
    return this.done ? this.report() : undefined;
  }

  /** The whole report. @throws Error when not complete yet (a caller bug, not peer input). */
  report(): Uint8Array {
    if (!this.done) throw new Error('ReportAssembler: report not complete');
    const out = new Uint8Array(this.received);
    let o = 0;
    for (const part of this.parts) {
      out.set(part, o);
      o += part.length;
    }
    return out;
  }
}

/**
 * Responder side: the portion answering GET_DEVICE_INTERFACE_REPORT(offset, length), as
 * spdm-emu's responder cuts it (Length clipped to maxPortion and to what is left).
 * @throws WireError ('TDISP', 'GET_DEVICE_INTERFACE_REPORT', 'bad-field') when Length is 0
 *   or Offset is not inside the report (answer TDISP_ERROR InvalidRequest);
 *   RangeError when the report is too large for a u16 RemainderLength (a responder bug).
 */
export function splitReport(
  report: Uint8Array,
  offset: number,
  length: number,
  maxPortion = 0xffff,
): ReportPortion {
  const fail = (field: string, at: number, why: string) =>
    new WireError(PROTOCOL, 'GET_DEVICE_INTERFACE_REPORT', field, at, 'bad-field', why);
  if (length === 0) throw fail('Length', AT_SECOND, 'zero length');
  if (offset >= report.length) {
    throw fail('Offset', AT_FIRST, `offset ${offset} not below report length ${report.length}`);
  }
  const len = Math.min(length, maxPortion, report.length - offset);
  const remainderLength = report.length - offset - len;
  if (remainderLength > 0xffff) {
    throw new RangeError(`report of ${report.length} bytes: RemainderLength does not fit in u16`);
  }
  return { portion: report.slice(offset, offset + len), remainderLength };
}
