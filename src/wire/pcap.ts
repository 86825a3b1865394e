/**
 * pcap savefiles (tcpdump pcap-savefile(5), libpcap 2.4 format) with the link types DMTF
 * libspdm / spdm-emu / spdm-dump use: LINKTYPE_MCTP 291 and LINKTYPE_PCI_DOE 292
 * (libspdm include/industry_standard/link_type_ex.h; older openspdm used 290/291).
 *
 * What a packet holds, as spdm-emu writes it and spdm-dump reads it:
 * - LINKTYPE_PCI_DOE: the whole DOE data object (header included).
 * - LINKTYPE_MCTP: a 4-byte MCTP transport header, then the MCTP message (type byte + body).
 *   spdm-dump's dump_mctp_packet skips sizeof(mctp_header_t) before the type byte; spdm-emu
 *   fills it with 00 00 00 C0 (see mctp.ts MCTP_PCAP_TRANSPORT_HEADER). `pcapPacket` does this.
 *
 * Pure: the writer hands byte chunks to a sink; nothing here touches files.
 */
import {
  encodeMctpTransportHeader,
  MCTP_PCAP_TRANSPORT_HEADER,
  type MctpTransportHeader,
} from './mctp.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_GLOBAL_HEADER_SIZE = 24;
export const PCAP_RECORD_HEADER_SIZE = 16;
/** spdm-emu's PCAP_PACKET_MAX_SIZE. */
export const PCAP_DEFAULT_SNAPLEN = 0x10000;
export const LINKTYPE_MCTP = 291;
export const LINKTYPE_PCI_DOE = 292;

export interface PcapHeader {
  linkType: number;
  snapLen: number;
  /** Timestamps in nanoseconds (magic a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** File written big-endian (magic read as d4c3b2a1). */
  bigEndian?: boolean;
  versionMajor?: number; // default 2
  versionMinor?: number; // default 4
  /** thiszone / sigfigs: always 0 in practice; kept when not. */
  thisZone?: number;
  sigFigs?: number;
}

export interface PcapRecord {
  tsSec: number;
  /** Microseconds (or nanoseconds in a nanosecond file). */
  tsFrac: number;
  /** The captured bytes (incl_len of them). */
  data: Uint8Array;
  /** orig_len when it differs from data.length (a truncated capture). */
  origLen?: number;
}

export interface PcapFile {
  header: PcapHeader;
  records: PcapRecord[];
}

type U32 = (v: number, f: string) => Writer;

function u32w(w: Writer, be: boolean | undefined): U32 {
  return be ? (v, f) => w.u32be(v, f) : (v, f) => w.u32(v, f);
}

/** The 24-byte global header. @throws RangeError when a field does not fit. */
export function encodePcapHeader(h: PcapHeader): Uint8Array {
  const w = new Writer(PCAP_GLOBAL_HEADER_SIZE);
  const u32 = u32w(w, h.bigEndian);
  const u16 = (v: number, f: string) => (h.bigEndian ? w.u16be(v, f) : w.u16(v, f));
  u32(h.nanosecond ? PCAP_MAGIC_NANO : PCAP_MAGIC, 'magic');
  u16(h.versionMajor ?? PCAP_VERSION_MAJOR, 'version_major');
  u16(h.versionMinor ?? PCAP_VERSION_MINOR, 'version_minor');
  u32(h.thisZone ?? 0, 'thiszone');
  u32(h.sigFigs ?? 0, 'sigfigs');
  u32(h.snapLen, 'snaplen');
  u32(h.linkType, 'network');
  return w.finish();
}

/**
 * One record (16-byte header + data). Data longer than the snap length is cut to it and
 * orig_len keeps the full size, as spdm-emu does.
 * @throws RangeError when a field does not fit u32.
 */
export function encodePcapRecord(h: PcapHeader, rec: PcapRecord): Uint8Array {
  const incl = Math.min(rec.data.length, h.snapLen);
  const w = new Writer(PCAP_RECORD_HEADER_SIZE + incl);
  const u32 = u32w(w, h.bigEndian);
  u32(rec.tsSec, 'ts_sec');
  u32(rec.tsFrac, 'ts_usec');
  u32(incl, 'incl_len');
  u32(rec.origLen ?? rec.data.length, 'orig_len');
  w.bytes(rec.data.subarray(0, incl));
  return w.finish();
}

/** A whole file. @throws RangeError as the parts. */
export function encodePcap(f: PcapFile): Uint8Array {
  const parts = [
    encodePcapHeader(f.header),
    ...f.records.map((r) => encodePcapRecord(f.header, r)),
  ];
  const w = new Writer(parts.reduce((n, p) => n + p.length, 0));
  for (const p of parts) w.bytes(p);
  return w.finish();
}

/**
 * Reads a whole file (little- or big-endian, micro- or nanosecond magic).
 * @throws WireError 'bad-field' on an unknown magic or a record longer than the snap
 * length, 'truncated' on a cut record; the error names the record ("PCAP record 3") and
 * its offset is from the start of the file.
 */
export function decodePcap(bytes: Uint8Array): PcapFile {
  const r = new Reader(bytes, 'PCAP', 'global header');
  const le = r.u32('magic');
  let bigEndian = false;
  let nanosecond = false;
  if (le === PCAP_MAGIC || le === PCAP_MAGIC_NANO) {
    nanosecond = le === PCAP_MAGIC_NANO;
  } else {
    const swapped = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    if (swapped !== PCAP_MAGIC && swapped !== PCAP_MAGIC_NANO) {
      throw r.error('magic', 'bad-field', `0x${le.toString(16)} is not a pcap magic`, 0);
    }
    bigEndian = true;
    nanosecond = swapped === PCAP_MAGIC_NANO;
  }
  const u16 = (f: string) => (bigEndian ? r.u16be(f) : r.u16(f));
  const u32 = (f: string) => (bigEndian ? r.u32be(f) : r.u32(f));
  const header: PcapHeader = { linkType: 0, snapLen: 0 };
  if (nanosecond) header.nanosecond = true;
  if (bigEndian) header.bigEndian = true;
  const major = u16('version_major');
  const minor = u16('version_minor');
  if (major !== PCAP_VERSION_MAJOR) header.versionMajor = major;
  if (minor !== PCAP_VERSION_MINOR) header.versionMinor = minor;
  const thisZone = u32('thiszone');
  const sigFigs = u32('sigfigs');
  if (thisZone !== 0) header.thisZone = thisZone;
  if (sigFigs !== 0) header.sigFigs = sigFigs;
  header.snapLen = u32('snaplen');
  header.linkType = u32('network');
  const records: PcapRecord[] = [];
  while (r.remaining > 0) {
    // Errors name the record (1-based, as capture tools number packets) and the file offset.
    r.msg = `record ${records.length + 1}`;
    const tsSec = u32('ts_sec');
    const tsFrac = u32('ts_usec');
    const inclAt = r.offset;
    const incl = u32('incl_len');
    const orig = u32('orig_len');
    if (incl > header.snapLen) {
      throw r.error('incl_len', 'bad-field', `${incl} exceeds snaplen ${header.snapLen}`, inclAt);
    }
    if (orig < incl) {
      throw r.error('orig_len', 'bad-field', `${orig} is below incl_len ${incl}`, inclAt + 4);
    }
    const data = r.bytes(incl, 'packet data');
    const rec: PcapRecord = { tsSec, tsFrac, data };
    if (orig !== incl) rec.origLen = orig;
    records.push(rec);
  }
  return { header, records };
}

/**
 * The packet bytes for one transport payload: for LINKTYPE_MCTP the MCTP transport header
 * (default: spdm-emu's 00 00 00 C0) is put in front of the MCTP message; for
 * LINKTYPE_PCI_DOE the DOE object goes in as is.
 * @throws RangeError for another link type.
 */
export function pcapPacket(
  linkType: number,
  payload: Uint8Array,
  mctpHeader: MctpTransportHeader = MCTP_PCAP_TRANSPORT_HEADER,
): Uint8Array {
  if (linkType === LINKTYPE_PCI_DOE) return payload.slice();
  if (linkType === LINKTYPE_MCTP) {
    const h = encodeMctpTransportHeader(mctpHeader);
    const out = new Uint8Array(h.length + payload.length);
    out.set(h);
    out.set(payload, h.length);
    return out;
  }
  throw new RangeError(`pcapPacket: link type ${linkType} is neither MCTP nor PCI_DOE`);
}

/**
 * Streaming writer: emits the global header on construction, then one chunk per packet.
 * `sink` receives byte chunks (append them to a file or an array).
 */
export class PcapWriter {
  readonly header: PcapHeader;

  constructor(
    linkType: number,
    private readonly sink: (chunk: Uint8Array) => void,
    snapLen = PCAP_DEFAULT_SNAPLEN,
  ) {
    this.header = { linkType, snapLen };
    sink(encodePcapHeader(this.header));
  }

  /** Writes one record; `timeUs` is microseconds since the epoch (default: now). */
  write(data: Uint8Array, timeUs: number = Date.now() * 1000): void {
    const tsSec = Math.floor(timeUs / 1e6);
    this.sink(
      encodePcapRecord(this.header, { tsSec, tsFrac: Math.floor(timeUs - tsSec * 1e6), data }),
    );
  }

  /** Writes one transport payload, framed for the link type with `pcapPacket`. */
  writePayload(payload: Uint8Array, timeUs?: number): void {
    this.write(pcapPacket(this.header.linkType, payload), timeUs);
  }
}
