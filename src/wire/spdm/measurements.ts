/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.11 "GET_MEASUREMENTS request and MEASUREMENTS
 * response", and 10.11.1 "Measurement block" / DMTF measurement specification format.
 *
 * GET_MEASUREMENTS: Param1 attributes (bit 0 signature, bit 1 raw bit stream, bit 2 new
 * measurement), Param2 operation (0 count, 1..0xFE index, 0xFF all); with a signature
 * Nonce[32] and, from 1.1, SlotIDParam; from 1.3 RequesterContext[8] always
 * (libspdm libspdm_try_get_measurement).
 * MEASUREMENTS: Param1 TotalNumberOfMeasurements (operation 0; reserved otherwise),
 * Param2 bits 3:0 SlotID, 5:4 content changed (1.2), [4] NumberOfBlocks, [5-7] u24
 * MeasurementRecordLength, record, Nonce[32], u16 OpaqueLength, OpaqueData,
 * RequesterContext[8] (1.3), Signature[S] when the request asked for one. libspdm's
 * requester and responder carry Nonce and OpaqueLength in every version, 1.0 included, and
 * teeio follows them. The count response has NumberOfBlocks 0 and an empty record.
 *
 * Measurement block: Index u8, MeasurementSpecification u8, u16 MeasurementSize,
 * Measurement. With MeasurementSpecification = DMTF (0x01) the measurement is
 * DMTFSpecMeasurementValueType u8 (bit 7 raw bit stream, 6:0 type), u16 value size, value.
 * Blocks of any other specification are kept raw.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import {
  readOpaque,
  readRequesterContext,
  writeOpaque,
  writeRequesterContext,
} from './challenge.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_DMTF_MEAS_RAW_BIT_STREAM,
  SPDM_GET_MEASUREMENTS,
  SPDM_MEAS_ATTR_SIGNATURE_REQUESTED,
  SPDM_MEASUREMENT_SPEC_DMTF,
  SPDM_MEASUREMENTS,
  SPDM_NONCE_SIZE,
  SPDM_VERSION_11,
} from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { needSize, writeSized } from './sized.ts';
import {
  assertLayoutVersion,
  checkLayoutVersion,
  readHeader,
  reservedValue,
  writeHeader,
} from './version.ts';

const MAX_RECORD_LENGTH = 0xffffff;

/** GET_MEASUREMENTS. */
export interface GetMeasurements extends SpdmHeaderFields {
  code: typeof SPDM_GET_MEASUREMENTS;
  /** Param1: SPDM_MEAS_ATTR_* bits; other bits kept. */
  attributes: number;
  /** Param2: 0 count, 1..0xFE one index, 0xFF all. */
  operation: number;
  /** Present iff attributes asks for a signature. */
  nonce?: Uint8Array;
  /** SlotIDParam (bits 3:0 slot, 7:4 reserved, kept whole): with a signature, from 1.1. */
  slotIdParam?: number;
  /** 1.3+: RequesterContext[8], with or without a signature. */
  requesterContext?: Uint8Array;
}

/** A block of the DMTF measurement specification. */
export interface DmtfMeasurementBlock {
  kind: 'dmtf';
  index: number;
  /** DMTFSpecMeasurementValueType bits 6:0 (SPDM_DMTF_MEAS_TYPE). */
  valueType: number;
  /** Bit 7: the value is the raw bit stream, not a digest. */
  rawBitStream: boolean;
  value: Uint8Array;
}

/**
 * A block of any other measurement specification, kept raw. The encoder also accepts
 * measurementSpecification = DMTF here, to build malformed DMTF blocks on purpose.
 */
export interface RawMeasurementBlock {
  kind: 'raw';
  index: number;
  measurementSpecification: number;
  measurement: Uint8Array;
}

export type MeasurementBlock = DmtfMeasurementBlock | RawMeasurementBlock;

/** MEASUREMENTS. NumberOfBlocks and MeasurementRecordLength come from `blocks`. */
export interface Measurements extends SpdmHeaderFields {
  code: typeof SPDM_MEASUREMENTS;
  /** Param1: TotalNumberOfMeasurements for operation 0; reserved otherwise (kept raw). */
  totalNumberOfMeasurements: number;
  /** Param2 bits 3:0 (1.1+). */
  slotId: number;
  /** Param2 bits 5:4 (1.2+): 0 not detected, 1 changed, 2 no change. */
  contentChanged: number;
  /** Param2 bits 7:6 in place; undefined when zero. */
  reserved2?: number;
  blocks: MeasurementBlock[];
  nonce: Uint8Array;
  opaqueData: Uint8Array;
  /** 1.3+: the RequesterContext echoed from the request. */
  requesterContext?: Uint8Array;
  /** Present iff the request asked for a signature. */
  signature?: Uint8Array;
}

/** True when GET_MEASUREMENTS attributes ask for a signed response. */
export function signatureRequested(attributes: number): boolean {
  return (attributes & SPDM_MEAS_ATTR_SIGNATURE_REQUESTED) !== 0;
}

// --- measurement record ---------------------------------------------------------------

function readBlock(r: Reader): MeasurementBlock {
  const index = r.u8('Index');
  const measurementSpecification = r.u8('MeasurementSpecification');
  const sizeAt = r.offset;
  const size = r.u16('MeasurementSize');
  if (measurementSpecification !== SPDM_MEASUREMENT_SPEC_DMTF) {
    return {
      kind: 'raw',
      index,
      measurementSpecification,
      measurement: r.bytes(size, 'Measurement'),
    };
  }
  if (size < 3) throw r.error('MeasurementSize', 'bad-field', `${size} < 3 for DMTF`, sizeAt);
  const type = r.u8('DMTFSpecMeasurementValueType');
  const valueAt = r.offset;
  const valueSize = r.u16('DMTFSpecMeasurementValueSize');
  if (valueSize + 3 !== size) {
    throw r.error(
      'DMTFSpecMeasurementValueSize',
      'bad-field',
      `${valueSize} + 3 is not MeasurementSize ${size}`,
      valueAt,
    );
  }
  return {
    kind: 'dmtf',
    index,
    valueType: type & 0x7f,
    rawBitStream: (type & SPDM_DMTF_MEAS_RAW_BIT_STREAM) !== 0,
    value: r.bytes(valueSize, 'DMTFSpecMeasurementValue'),
  };
}

function writeBlock(w: Writer, b: MeasurementBlock): void {
  w.u8(b.index, 'Index');
  if (b.kind === 'raw') {
    w.u8(b.measurementSpecification, 'MeasurementSpecification')
      .u16(b.measurement.length, 'MeasurementSize')
      .bytes(b.measurement);
    return;
  }
  if (b.valueType < 0 || b.valueType > 0x7f) {
    throw new RangeError(`measurement block ${b.index}: valueType ${b.valueType} > 0x7f`);
  }
  w.u8(SPDM_MEASUREMENT_SPEC_DMTF, 'MeasurementSpecification')
    .u16(b.value.length + 3, 'MeasurementSize')
    .u8(b.valueType | (b.rawBitStream ? SPDM_DMTF_MEAS_RAW_BIT_STREAM : 0), 'ValueType')
    .u16(b.value.length, 'DMTFSpecMeasurementValueSize')
    .bytes(b.value);
}

/**
 * Splits a MeasurementRecord into blocks. `base` is the record's offset in the message,
 * so errors point into the message.
 * @throws WireError when a block runs past the record or a DMTF block's sizes disagree.
 */
export function decodeMeasurementRecord(record: Uint8Array, base = 0): MeasurementBlock[] {
  const r = new Reader(record, 'SPDM', 'MeasurementRecord', base);
  const blocks: MeasurementBlock[] = [];
  while (r.remaining > 0) blocks.push(readBlock(r));
  return blocks;
}

/** Encodes blocks back to a MeasurementRecord. @throws RangeError on oversized values. */
export function encodeMeasurementRecord(blocks: MeasurementBlock[]): Uint8Array {
  const w = new Writer();
  for (const b of blocks) writeBlock(w, b);
  return w.finish();
}

// --- codecs ---------------------------------------------------------------------------

export const getMeasurementsCodec: SpdmFamilyCodec<GetMeasurements> = {
  name: 'GET_MEASUREMENTS',
  encode(w: Writer, m: GetMeasurements): void {
    assertLayoutVersion(m.version, m.code);
    const signed = signatureRequested(m.attributes);
    const slotted = signed && m.version >= SPDM_VERSION_11;
    if (signed !== (m.nonce !== undefined)) {
      throw new RangeError('GET_MEASUREMENTS: nonce is present iff a signature is requested');
    }
    if (slotted !== (m.slotIdParam !== undefined)) {
      throw new RangeError('GET_MEASUREMENTS: slotIdParam goes with a signature, from 1.1');
    }
    writeHeader(w, m.version, m.code, m.attributes, m.operation);
    if (m.nonce) w.fixed(m.nonce, SPDM_NONCE_SIZE, 'Nonce');
    if (m.slotIdParam !== undefined) w.u8(m.slotIdParam, 'SlotIDParam');
    writeRequesterContext(w, m.version, m.requesterContext, 'GET_MEASUREMENTS');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): GetMeasurements {
    const h = readHeader(r, SPDM_GET_MEASUREMENTS);
    checkLayoutVersion(r, h.version);
    const signed = signatureRequested(h.param1);
    const nonce = signed ? r.bytes(SPDM_NONCE_SIZE, 'Nonce') : undefined;
    const slotIdParam = signed && h.version >= SPDM_VERSION_11 ? r.u8('SlotIDParam') : undefined;
    const requesterContext = readRequesterContext(r, h.version);
    return {
      version: h.version,
      code: SPDM_GET_MEASUREMENTS,
      attributes: h.param1,
      operation: h.param2,
      nonce,
      slotIdParam,
      requesterContext,
    };
  },
};

export const measurementsCodec: SpdmFamilyCodec<Measurements> = {
  name: 'MEASUREMENTS',
  encode(w: Writer, m: Measurements, ctx: SpdmCodecContext): void {
    assertLayoutVersion(m.version, m.code);
    if (m.slotId < 0 || m.slotId > 0xf || m.contentChanged < 0 || m.contentChanged > 3) {
      throw new RangeError('MEASUREMENTS: slotId is 4 bits, contentChanged 2 bits');
    }
    const hi = m.reserved2 ?? 0;
    if ((hi & 0x3f) !== 0) throw new RangeError('MEASUREMENTS: reserved2 is Param2 bits 7:6');
    if (m.blocks.length > 0xff) throw new RangeError('MEASUREMENTS: more than 255 blocks');
    const req = ctx.request;
    if (
      req?.code === SPDM_GET_MEASUREMENTS &&
      signatureRequested(req.attributes) !== (m.signature !== undefined)
    ) {
      throw new RangeError('MEASUREMENTS: signature must follow the request');
    }
    const record = encodeMeasurementRecord(m.blocks);
    if (record.length > MAX_RECORD_LENGTH) throw new RangeError('MEASUREMENTS: record too long');
    writeHeader(
      w,
      m.version,
      m.code,
      m.totalNumberOfMeasurements,
      hi | (m.contentChanged << 4) | m.slotId,
    );
    w.u8(m.blocks.length, 'NumberOfBlocks')
      .u24(record.length, 'MeasurementRecordLength')
      .bytes(record)
      .fixed(m.nonce, SPDM_NONCE_SIZE, 'Nonce');
    writeOpaque(w, m.opaqueData);
    writeRequesterContext(w, m.version, m.requesterContext, 'MEASUREMENTS');
    if (m.signature) writeSized(w, m.signature, ctx.sizes?.signatureSize, 'Signature');
  },
  decode(r: Reader, ctx: SpdmCodecContext): Measurements {
    const h = readHeader(r, SPDM_MEASUREMENTS);
    checkLayoutVersion(r, h.version);
    const req = ctx.request;
    if (req !== undefined && req.code !== SPDM_GET_MEASUREMENTS) {
      throw r.error('ctx.request', 'bad-field', 'MEASUREMENTS answers a GET_MEASUREMENTS');
    }
    const numberOfBlocks = r.u8('NumberOfBlocks');
    const recordLength = r.u24('MeasurementRecordLength');
    const recordAt = r.offset;
    const blocks = decodeMeasurementRecord(r.bytes(recordLength, 'MeasurementRecord'), recordAt);
    if (blocks.length !== numberOfBlocks) {
      throw r.error(
        'NumberOfBlocks',
        'bad-field',
        `says ${numberOfBlocks}, record holds ${blocks.length}`,
        4,
      );
    }
    const nonce = r.bytes(SPDM_NONCE_SIZE, 'Nonce');
    const opaqueData = readOpaque(r);
    const requesterContext = readRequesterContext(r, h.version);
    // Without the request at hand, whatever follows can only be the signature.
    const signed = req ? signatureRequested(req.attributes) : r.remaining > 0;
    const signature = signed ? r.bytes(needSize(r, ctx, 'signatureSize'), 'Signature') : undefined;
    return {
      version: h.version,
      code: SPDM_MEASUREMENTS,
      totalNumberOfMeasurements: h.param1,
      slotId: h.param2 & 0xf,
      contentChanged: (h.param2 >>> 4) & 0x3,
      reserved2: reservedValue(h.param2 & 0xc0),
      blocks,
      nonce,
      opaqueData,
      requesterContext,
      signature,
    };
  },
};
