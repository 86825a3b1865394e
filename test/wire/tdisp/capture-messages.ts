/**
 * Pulls the IDE_KM and TDISP messages out of the decrypted secured records of a libspdm
 * capture, with a tiny parser written for the tests (independent of the SPDM
 * VENDOR_DEFINED codec): SPDM header 4 bytes | StandardID u16 | Len u8 | VendorID |
 * PayloadLength u16 | ProtocolID u8 | message.
 */
import { type CaptureFrame, type CaptureName, loadCapture } from '../../support/captures.ts';

export interface PciSigMessage {
  frame: CaptureFrame;
  /** 0 IDE_KM, 1 TDISP. */
  protocolId: number;
  /** The protocol message: everything after the ProtocolID byte. */
  message: Uint8Array;
  /** The capture's description line of the inner message ("IDE_KM KEY_PROG(0x02)", "TDISP v1.0 ..."). */
  note: string;
  /** Further description lines after it (the reassembled REPORT lines). */
  more: string[];
}

/** Every PCI-SIG (StandardID 3, VendorID 0x0001) vendor-defined message of a capture, in order. */
export function pciSigMessages(name: CaptureName): PciSigMessage[] {
  const out: PciSigMessage[] = [];
  for (const frame of loadCapture(name)) {
    const p = frame.plaintext;
    if (!p || p.length < 4 || (p[1] !== 0xfe && p[1] !== 0x7e)) continue;
    const standardId = p[4] | (p[5] << 8);
    const len = p[6];
    if (standardId !== 3 || len !== 2 || p[7] !== 0x01 || p[8] !== 0x00) continue;
    const payloadLength = p[9] | (p[10] << 8);
    if (11 + payloadLength !== p.length) {
      throw new Error(`frame #${frame.index}: PayloadLength ${payloadLength} vs ${p.length} bytes`);
    }
    const i = frame.notes.findIndex((n) => /^(IDE_KM|TDISP) /.test(n));
    if (i < 0) throw new Error(`frame #${frame.index}: no IDE_KM/TDISP note`);
    const more: string[] = [];
    for (const n of frame.notes.slice(i + 1)) {
      if (!/^(REPORT:|MMIO_RANGE|DEVICE_SPECIFIC)/.test(n)) break;
      more.push(n);
    }
    out.push({
      frame,
      protocolId: p[11],
      message: p.slice(12),
      note: frame.notes[i],
      more,
    });
  }
  return out;
}
