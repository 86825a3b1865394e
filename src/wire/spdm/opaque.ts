/**
 * Secured-message opaque data: the OpaqueData field of KEY_EXCHANGE, PSK_EXCHANGE and their
 * responses, through which the two sides agree on the DSP0277 secured-message version.
 *
 * Two table layouts, chosen by the SPDM version as libspdm does (libspdm_com_opaque_data.c):
 * - SPDM 1.2+: DSP0274 1.2/1.3 "General opaque data format" (OpaqueDataFmt1):
 *   TotalElements u8, Reserved[3], elements.
 * - SPDM 1.1: DSP0277 1.0 "General opaque data table": SpecID u32 = 0x444D5446 ("DMTF"),
 *   OpaqueVersion u8 = 1, TotalElements u8, Reserved u16, elements.
 * An element is the same in both: ID u8 (registry id, 0 = DMTF), VendorLen u8,
 * VendorID[VendorLen], OpaqueElementDataLen u16, data, zero padding to a multiple of 4.
 *
 * A DMTF element with no vendor id carries DSP0277 secured-message data (SMData):
 * SMDataVersion u8 = 1, SMDataID u8; SMDataID 1 "supported version list" = VersionCount u8 +
 * u16 version numbers, SMDataID 0 "version selection" = one u16 version number.
 * Elements and SMData of any other shape decode raw and re-encode unchanged.
 */
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import { SPDM_REGISTRY_ID_DMTF, SPDM_VERSION_12 } from './constants.ts';

// DSP0277 definitions under their libspdm names (industry_standard/spdm_secured_message.h).
export const SECURED_MESSAGE_OPAQUE_DATA_SPEC_ID = 0x444d5446;
export const SECURED_MESSAGE_OPAQUE_VERSION = 0x01;
export const SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_DATA_VERSION = 0x01;
export const SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_VERSION_SELECTION = 0x00;
export const SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_SUPPORTED_VERSION = 0x01;

/** One opaque element. */
export interface OpaqueElement {
  /** Registry / standards body id (SPDM_REGISTRY_ID_*). */
  id: number;
  vendorId: Uint8Array;
  data: Uint8Array;
  /** Alignment padding when it is not all zero (libspdm rejects that; kept to round-trip). */
  padding?: Uint8Array;
}

/** SPDM 1.2+ OpaqueDataFmt1 table. */
export interface OpaqueDataFmt1 {
  format: 'fmt1';
  elements: OpaqueElement[];
  /** The 3 reserved bytes after TotalElements, as a u24, when not zero. */
  reserved?: number;
}

/** SPDM 1.1 table with the DSP0277 1.0 SpecID header. */
export interface OpaqueDataSpecId {
  format: 'spec-id';
  /** OpaqueVersion (SECURED_MESSAGE_OPAQUE_VERSION). */
  opaqueVersion: number;
  elements: OpaqueElement[];
  /** The u16 reserved after TotalElements, when not zero. */
  reserved?: number;
}

export type OpaqueData = OpaqueDataFmt1 | OpaqueDataSpecId;

/** DSP0277 secured-message data inside a DMTF element. */
export type SecuredMessageData =
  | { kind: 'supported-versions'; smDataVersion: number; versions: number[] }
  | { kind: 'version-selection'; smDataVersion: number; selectedVersion: number }
  | { kind: 'unknown'; smDataVersion: number; smDataId: number; data: Uint8Array };

/** The opaque table layout an SPDM version uses. */
export function opaqueFormatFor(spdmVersion: number): OpaqueData['format'] {
  return spdmVersion >= SPDM_VERSION_12 ? 'fmt1' : 'spec-id';
}

function readElement(r: Reader, i: number): OpaqueElement {
  const start = r.offset;
  const id = r.u8(`Element[${i}].ID`);
  const vendorLen = r.u8(`Element[${i}].VendorLen`);
  const vendorId = r.bytes(vendorLen, `Element[${i}].VendorID`);
  const len = r.u16(`Element[${i}].OpaqueElementDataLen`);
  const data = r.bytes(len, `Element[${i}].OpaqueElementData`);
  const pad = (4 - ((r.offset - start) & 3)) & 3;
  const padding = r.reservedBytes(pad, `Element[${i}].AlignPadding`);
  return { id, vendorId, data, padding };
}

/**
 * Decodes an opaque data table in the layout `spdmVersion` uses (see opaqueFormatFor).
 * `base` is the table's offset inside the enclosing message, for error positions.
 * @throws WireError on a truncated table or element, an unknown SpecID (1.1), or bytes after
 *   the last element.
 */
export function decodeOpaqueData(bytes: Uint8Array, spdmVersion: number, base = 0): OpaqueData {
  const r = new Reader(bytes, 'SPDM', 'OpaqueData', base);
  let out: OpaqueData;
  let count: number;
  if (opaqueFormatFor(spdmVersion) === 'fmt1') {
    count = r.u8('TotalElements');
    const rsv = r.u24('Reserved');
    out = { format: 'fmt1', elements: [], reserved: rsv === 0 ? undefined : rsv };
  } else {
    const specId = r.u32('SpecID');
    if (specId !== SECURED_MESSAGE_OPAQUE_DATA_SPEC_ID) {
      throw r.error('SpecID', 'bad-field', `0x${specId.toString(16)} is not "DMTF"`, 0);
    }
    const opaqueVersion = r.u8('OpaqueVersion');
    count = r.u8('TotalElements');
    const reserved = r.reservedU16('Reserved');
    out = { format: 'spec-id', opaqueVersion, elements: [], reserved };
  }
  for (let i = 0; i < count; i++) out.elements.push(readElement(r, i));
  r.end();
  return out;
}

/**
 * Encodes an opaque data table; each element is padded to a multiple of 4 bytes.
 * @throws RangeError when a count, length or padding does not fit its field.
 */
export function encodeOpaqueData(o: OpaqueData): Uint8Array {
  const w = new Writer(64);
  if (o.elements.length > 0xff) throw new RangeError('TotalElements: more than 255 elements');
  if (o.format === 'fmt1') {
    w.u8(o.elements.length, 'TotalElements').u24(o.reserved ?? 0, 'Reserved');
  } else {
    w.u32(SECURED_MESSAGE_OPAQUE_DATA_SPEC_ID, 'SpecID')
      .u8(o.opaqueVersion, 'OpaqueVersion')
      .u8(o.elements.length, 'TotalElements')
      .u16(o.reserved ?? 0, 'Reserved');
  }
  for (const e of o.elements) {
    const start = w.length;
    w.u8(e.id, 'ID').u8(e.vendorId.length, 'VendorLen').bytes(e.vendorId);
    w.u16(e.data.length, 'OpaqueElementDataLen').bytes(e.data);
    const pad = (4 - ((w.length - start) & 3)) & 3;
    if (e.padding) w.fixed(e.padding, pad, 'AlignPadding');
    else w.zeros(pad);
  }
  return w.finish();
}

/**
 * Decodes the data of a DMTF secured-message element.
 * @throws WireError on a truncated or over-long known SMData structure.
 */
export function decodeSecuredMessageData(data: Uint8Array, base = 0): SecuredMessageData {
  const r = new Reader(data, 'SPDM', 'SecuredMessageData', base);
  const smDataVersion = r.u8('SMDataVersion');
  const smDataId = r.u8('SMDataID');
  let out: SecuredMessageData;
  if (smDataId === SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_SUPPORTED_VERSION) {
    const n = r.u8('VersionCount');
    const versions: number[] = [];
    for (let i = 0; i < n; i++) versions.push(r.u16(`VersionsList[${i}]`));
    out = { kind: 'supported-versions', smDataVersion, versions };
  } else if (smDataId === SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_VERSION_SELECTION) {
    out = { kind: 'version-selection', smDataVersion, selectedVersion: r.u16('SelectedVersion') };
  } else {
    out = { kind: 'unknown', smDataVersion, smDataId, data: r.rest('SMData') };
  }
  r.end();
  return out;
}

/** Encodes DSP0277 secured-message data. @throws RangeError when a value does not fit. */
export function encodeSecuredMessageData(d: SecuredMessageData): Uint8Array {
  const w = new Writer(16);
  w.u8(d.smDataVersion, 'SMDataVersion');
  switch (d.kind) {
    case 'supported-versions':
      w.u8(SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_SUPPORTED_VERSION, 'SMDataID');
      w.u8(d.versions.length, 'VersionCount');
      for (const v of d.versions) w.u16(v, 'VersionsList');
      break;
    case 'version-selection':
      w.u8(SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_ID_VERSION_SELECTION, 'SMDataID');
      w.u16(d.selectedVersion, 'SelectedVersion');
      break;
    case 'unknown':
      w.u8(d.smDataId, 'SMDataID').bytes(d.data);
      break;
  }
  return w.finish();
}

/**
 * The secured-message data of the first DMTF element without vendor id, or undefined when
 * the table has none (libspdm_get_element_from_opaque_data looks for the same element).
 * @throws WireError when that element's data is malformed.
 */
export function findSecuredMessageData(o: OpaqueData): SecuredMessageData | undefined {
  for (const e of o.elements) {
    if (e.id === SPDM_REGISTRY_ID_DMTF && e.vendorId.length === 0) {
      return decodeSecuredMessageData(e.data);
    }
  }
  return undefined;
}

function smOpaque(d: SecuredMessageData, spdmVersion: number): Uint8Array {
  const element: OpaqueElement = {
    id: SPDM_REGISTRY_ID_DMTF,
    vendorId: new Uint8Array(0),
    data: encodeSecuredMessageData(d),
  };
  return encodeOpaqueData(
    opaqueFormatFor(spdmVersion) === 'fmt1'
      ? { format: 'fmt1', elements: [element] }
      : { format: 'spec-id', opaqueVersion: SECURED_MESSAGE_OPAQUE_VERSION, elements: [element] },
  );
}

/**
 * The OpaqueData a Requester puts in KEY_EXCHANGE / PSK_EXCHANGE: one DMTF element listing
 * the DSP0277 versions it supports (e.g. 0x1000, 0x1100, 0x1200), as libspdm builds it.
 * @throws RangeError when a version does not fit a u16 or there are more than 255.
 */
export function buildSupportedVersionsOpaque(versions: number[], spdmVersion: number): Uint8Array {
  return smOpaque(
    {
      kind: 'supported-versions',
      smDataVersion: SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_DATA_VERSION,
      versions,
    },
    spdmVersion,
  );
}

/**
 * The OpaqueData a Responder puts in KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP: one DMTF element
 * naming the selected DSP0277 version.
 * @throws RangeError when the version does not fit a u16.
 */
export function buildVersionSelectionOpaque(selected: number, spdmVersion: number): Uint8Array {
  return smOpaque(
    {
      kind: 'version-selection',
      smDataVersion: SECURED_MESSAGE_OPAQUE_ELEMENT_SMDATA_DATA_VERSION,
      selectedVersion: selected,
    },
    spdmVersion,
  );
}
