/**
 * Data Object Exchange mailbox (PCIe 6.30, registers 7.9.24), driven the way Linux
 * drivers/pci/doe.c drives it: the host writes a request object dword by dword into the
 * Write Data Mailbox, sets DOE Go, polls DOE Status for Data Object Ready, then reads the
 * Read Data Mailbox one dword at a time, writing the register to advance. DOE Abort
 * clears everything. The DSM's handler is called synchronously with the whole object.
 *
 * DOE Busy: with `busyPolls` = n > 0 the object stays in processing for n reads of DOE
 * Status (each sees Busy); the handler runs on the n-th. With 0 it runs at Go.
 * DOE Error is set on: an object whose Length disagrees with the dwords written, one
 * shorter than its 2-dword header, more dwords than the mailbox holds (either way), Go
 * with an empty mailbox, Go while busy or before the last response was read, a non-dword
 * mailbox write, reading or advancing the Read Data Mailbox with no object ready, and a
 * handler that throws. While Error is set, mailbox writes and Go are ignored until Abort.
 */

import { PCI_DOE_MAX_LENGTH_DW } from '../../../wire/doe.ts';
import {
  type CapAllocator,
  type ConfigSpace,
  defineReg,
  maskedWrite,
  wr,
} from '../config-space.ts';
import {
  PCI_DOE_CAP,
  PCI_DOE_CAP_INT_SUP,
  PCI_DOE_CAP_SIZEOF,
  PCI_DOE_CTRL,
  PCI_DOE_CTRL_ABORT,
  PCI_DOE_CTRL_GO,
  PCI_DOE_CTRL_INT_EN,
  PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
  PCI_DOE_READ,
  PCI_DOE_STATUS,
  PCI_DOE_STATUS_BUSY,
  PCI_DOE_STATUS_DATA_OBJECT_READY,
  PCI_DOE_STATUS_ERROR,
  PCI_DOE_STATUS_INT_STATUS,
  PCI_DOE_WRITE,
  PCI_EXT_CAP_ID_DOE,
} from '../regs.ts';
import type { FnContext } from '../state.ts';

const DOE_CAP_VERSION = 2;

export interface DoeOptions {
  /** Largest object either mailbox holds, in dwords (default and maximum 2^18). */
  maxObjectDwords?: number;
  busyPolls?: number;
  interrupt?: boolean;
}

export interface DoeState {
  maxDwords: number;
  busyPolls: number;
  /** Request dwords written since the last Go or Abort. */
  writeBuf: number[];
  /** The object accepted at Go while DOE Busy is showing. */
  pending: Uint8Array | null;
  pollsLeft: number;
  /** The response being read out, and the index of the dword the register shows. */
  readBuf: Uint32Array | null;
  readPos: number;
  error: boolean;
  /** Why DOE Error was set (diagnostics; not a register). */
  errorReason?: string;
  intStatus: boolean;
}

export function newDoeState(o: DoeOptions): DoeState {
  return {
    maxDwords: o.maxObjectDwords ?? PCI_DOE_MAX_LENGTH_DW,
    busyPolls: o.busyPolls ?? 0,
    writeBuf: [],
    pending: null,
    pollsLeft: 0,
    readBuf: null,
    readPos: 0,
    error: false,
    intStatus: false,
  };
}

export function installDoe(cs: ConfigSpace, alloc: CapAllocator, o: DoeOptions): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_DOE, DOE_CAP_VERSION, PCI_DOE_CAP_SIZEOF);
  defineReg(cs, off + PCI_DOE_CAP, 4, o.interrupt ? PCI_DOE_CAP_INT_SUP : 0);
  defineReg(cs, off + PCI_DOE_CTRL, 4, 0, o.interrupt ? PCI_DOE_CTRL_INT_EN : 0);
  return off;
}

/** Returns the mailbox to its idle state (DOE Abort, FLR). */
export function doeAbort(d: DoeState): void {
  d.writeBuf = [];
  d.pending = null;
  d.pollsLeft = 0;
  d.readBuf = null;
  d.readPos = 0;
  d.error = false;
  d.errorReason = undefined;
}

const ready = (d: DoeState): boolean => d.readBuf !== null && d.readPos < d.readBuf.length;

export function doeStatus(d: DoeState): number {
  return (
    ((d.pending ? PCI_DOE_STATUS_BUSY : 0) |
      (d.intStatus ? PCI_DOE_STATUS_INT_STATUS : 0) |
      (d.error ? PCI_DOE_STATUS_ERROR : 0) |
      (ready(d) ? PCI_DOE_STATUS_DATA_OBJECT_READY : 0)) >>>
    0
  );
}

function intEnabled(ctx: FnContext): boolean {
  return !!(ctx.fs.cs.bytes[ctx.fs.caps.doe! + PCI_DOE_CTRL] & PCI_DOE_CTRL_INT_EN);
}

function fail(ctx: FnContext, d: DoeState, reason: string): void {
  d.error = true;
  d.errorReason = reason;
  d.writeBuf = [];
  if (intEnabled(ctx)) d.intStatus = true;
}

function dwordsToBytes(dw: number[]): Uint8Array {
  const out = new Uint8Array(dw.length * 4);
  dw.forEach((v, i) => {
    wr(out, i * 4, 4, v);
  });
  return out;
}

function process(ctx: FnContext, d: DoeState, object: Uint8Array): void {
  d.pending = null;
  const handler = ctx.dev.doeHandler();
  if (!handler) return; // nobody home: no response, the host times out
  let resp: Uint8Array | undefined;
  try {
    resp = handler(object);
  } catch (e) {
    fail(ctx, d, `handler threw: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  if (!resp) return;
  const dwords = Math.ceil(resp.length / 4);
  if (dwords > d.maxDwords) {
    fail(ctx, d, `response of ${dwords} dwords exceeds the ${d.maxDwords}-dword mailbox`);
    return;
  }
  const padded = new Uint8Array(dwords * 4);
  padded.set(resp);
  d.readBuf = new Uint32Array(dwords);
  for (let i = 0; i < dwords; i++) {
    d.readBuf[i] =
      (padded[i * 4] |
        (padded[i * 4 + 1] << 8) |
        (padded[i * 4 + 2] << 16) |
        (padded[i * 4 + 3] << 24)) >>>
      0;
  }
  d.readPos = 0;
  if (intEnabled(ctx) && dwords > 0) d.intStatus = true;
}

/** Why DOE Go cannot take the object in the write mailbox, if it cannot. */
function goProblem(d: DoeState): string | undefined {
  if (d.pending) return 'DOE Go while busy';
  if (ready(d)) return 'DOE Go before the previous response was read';
  const n = d.writeBuf.length;
  if (n === 0) return 'DOE Go with an empty write mailbox';
  if (n < 2) return 'object shorter than its 2-dword header';
  const len = d.writeBuf[1] & PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH || PCI_DOE_MAX_LENGTH_DW;
  if (len !== n) return `Length field says ${len} dwords, ${n} written`;
  return undefined;
}

function go(ctx: FnContext, d: DoeState): void {
  if (d.error) return;
  const problem = goProblem(d);
  if (problem) {
    fail(ctx, d, problem);
    return;
  }
  const object = dwordsToBytes(d.writeBuf);
  d.writeBuf = [];
  d.readBuf = null;
  if (d.busyPolls > 0) {
    d.pending = object;
    d.pollsLeft = d.busyPolls;
  } else {
    process(ctx, d, object);
  }
}

/**
 * Whether an access of `size` bytes at `off` touches the dword register at `reg`. (At module
 * level: a closure per mailbox read is a cost the explorer pays once per dword.)
 */
function touches(off: number, size: number, reg: number): boolean {
  return off < reg + 4 && reg < off + size;
}

/** Host config read inside the DOE capability: refreshes Status and the read mailbox. */
export function doeRead(ctx: FnContext, off: number, size: number): void {
  const { fs } = ctx;
  const d = fs.doe!;
  const base = fs.caps.doe!;
  if (touches(off, size, base + PCI_DOE_STATUS)) {
    const showBusy = d.pending !== null;
    wr(fs.cs.bytes, base + PCI_DOE_STATUS, 4, doeStatus(d));
    if (showBusy && --d.pollsLeft <= 0 && d.pending) process(ctx, d, d.pending);
  }
  if (touches(off, size, base + PCI_DOE_READ)) {
    if (ready(d)) {
      wr(fs.cs.bytes, base + PCI_DOE_READ, 4, d.readBuf![d.readPos]);
    } else {
      wr(fs.cs.bytes, base + PCI_DOE_READ, 4, 0);
      fail(ctx, d, 'Read Data Mailbox read with no data object ready');
    }
  }
}

export function doeWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs } = ctx;
  const d = fs.doe!;
  const base = fs.caps.doe!;
  const reg = (off - base) & ~3;
  const shift = (off & 3) * 8;
  const bits = (value * 2 ** shift) >>> 0; // the written bytes in dword position
  switch (reg) {
    case PCI_DOE_CTRL: {
      maskedWrite(fs.cs, off, size, value);
      if (bits & PCI_DOE_CTRL_ABORT) doeAbort(d);
      else if (bits & PCI_DOE_CTRL_GO) go(ctx, d);
      return;
    }
    case PCI_DOE_STATUS:
      if (bits & PCI_DOE_STATUS_INT_STATUS) d.intStatus = false;
      return;
    case PCI_DOE_WRITE: {
      if (d.error) return;
      const problem =
        size !== 4
          ? 'Write Data Mailbox written with less than a dword'
          : d.pending
            ? 'Write Data Mailbox written while busy'
            : d.writeBuf.length >= d.maxDwords
              ? `object exceeds the ${d.maxDwords}-dword mailbox`
              : undefined;
      if (problem) fail(ctx, d, problem);
      else d.writeBuf.push(value >>> 0);
      return;
    }
    case PCI_DOE_READ:
      if (!ready(d)) {
        fail(ctx, d, 'Read Data Mailbox advanced with no data object ready');
        return;
      }
      d.readPos++;
      if (d.readPos >= d.readBuf!.length) d.readBuf = null;
      return;
    default:
      // Header and DOE Capabilities are read-only.
      return;
  }
}
