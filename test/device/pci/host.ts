/**
 * What a host kernel does to the device model in these tests, written independently of
 * the model: capability lookup by walking config space, Linux drivers/pci/doe.c's mailbox
 * sequence, an event recorder. Register offsets are spelled as numbers from the spec
 * tables, not imported from the model, so a wrong constant there shows up here.
 */
import type { ConfigEventRecord, ConfigSecurityEvent } from '../../../src/device/events.ts';
import type { PciDevice } from '../../../src/device/pci/device.ts';

export function findCap(dev: PciDevice, fn: number, id: number): number | undefined {
  if (!(dev.configRead(fn, 0x06, 2) & 0x10)) return undefined;
  let off = dev.configRead(fn, 0x34, 1) & 0xfc;
  for (let n = 0; off && n < 48; n++) {
    if (dev.configRead(fn, off, 1) === id) return off;
    off = dev.configRead(fn, off + 1, 1) & 0xfc;
  }
  return undefined;
}

export function findExtCap(dev: PciDevice, fn: number, id: number): number | undefined {
  let off = 0x100;
  for (let n = 0; off && n < 960; n++) {
    const h = dev.configRead(fn, off, 4);
    if (h === 0) return undefined;
    if ((h & 0xffff) === id) return off;
    off = (h >>> 20) & 0xffc;
  }
  return undefined;
}

export const DOE_CTRL = 0x08;
export const DOE_STATUS = 0x0c;
export const DOE_WRITE = 0x10;
export const DOE_READ = 0x14;
export const GO = 0x80000000;
export const ABORT = 0x1;
export const BUSY = 0x1;
export const ERROR = 0x4;
export const READY = 0x80000000;

const le32 = (b: Uint8Array, i: number): number =>
  (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

/** pci_doe_send_req: header and payload dword by dword, then Go. */
export function doeSend(dev: PciDevice, fn: number, doe: number, object: Uint8Array): void {
  for (let i = 0; i < object.length; i += 4)
    dev.configWrite(fn, doe + DOE_WRITE, 4, le32(object, i));
  dev.configWrite(fn, doe + DOE_CTRL, 4, GO);
}

/** Polls DOE Status until Data Object Ready (or Error / give up); returns the polls it took. */
export function doePoll(dev: PciDevice, fn: number, doe: number, limit = 100): number {
  for (let n = 1; n <= limit; n++) {
    const s = dev.configRead(fn, doe + DOE_STATUS, 4);
    if (s & ERROR) throw new Error('DOE Error');
    if (s & READY) return n;
  }
  throw new Error('DOE timeout');
}

/** pci_doe_recv_resp: read a dword, write the register to advance, until the Length is read out. */
export function doeReceive(dev: PciDevice, fn: number, doe: number): Uint8Array {
  const words: number[] = [];
  const next = (): number => {
    const v = dev.configRead(fn, doe + DOE_READ, 4);
    dev.configWrite(fn, doe + DOE_READ, 4, 0);
    return v;
  };
  words.push(next());
  words.push(next());
  const len = words[1] & 0x3ffff || 1 << 18;
  while (words.length < len) words.push(next());
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => {
    dv.setUint32(i * 4, w, true);
  });
  return out;
}

export function doeExchange(
  dev: PciDevice,
  fn: number,
  doe: number,
  object: Uint8Array,
): Uint8Array {
  doeSend(dev, fn, doe, object);
  doePoll(dev, fn, doe);
  return doeReceive(dev, fn, doe);
}

/** A DOE object built by hand: vendor 0x0001, `type`, Length, payload zero-padded. */
export function doeObject(type: number, payload: number[]): Uint8Array {
  const dwords = 2 + Math.ceil(payload.length / 4);
  const out = new Uint8Array(dwords * 4);
  out.set([0x01, 0x00, type, 0x00, dwords & 0xff, (dwords >> 8) & 0xff, dwords >> 16, 0]);
  out.set(payload, 8);
  return out;
}

/** Records every event the device delivers. */
export function recorder(dev: PciDevice): {
  all: ConfigEventRecord[];
  take(): ConfigEventRecord[];
} {
  const all: ConfigEventRecord[] = [];
  dev.onSecurityEvent((r) => all.push(r));
  return {
    all,
    take() {
      return all.splice(0);
    },
  };
}

export const ev = (fn: number, event: ConfigSecurityEvent): ConfigEventRecord => ({ fn, event });
