/**
 * A RequesterTransport over a PCI Data Object Exchange mailbox (PCIe 6.x section 6.30,
 * registers 7.9.24), driven the way Linux drivers/pci/doe.c drives it:
 *
 * - at first use the mailbox is aborted (pci_doe_create_mb does the same);
 * - send (pci_doe_send_req): wait for DOE Busy to clear (bounded), refuse when DOE Error is
 *   set, write the object dword by dword into the Write Data Mailbox, set DOE Go;
 * - wait (doe_statemachine_work): poll DOE Status until Data Object Ready, bounded by a
 *   deadline (Linux: PCI_DOE_TIMEOUT = 1 s) and a poll count; DOE Error aborts;
 * - receive (pci_doe_recv_resp): read the header dwords, check the response's vendor and
 *   type equal the request's, read the rest one dword at a time writing the Read Data
 *   Mailbox to advance, check Data Object Ready before the last advance and DOE Error after;
 * - any failure aborts the mailbox (signal_task_abort -> pci_doe_abort); an abort that does
 *   not complete marks the mailbox dead (PCI_DOE_FLAG_DEAD): every later exchange fails.
 *
 * The device is reached only through a config accessor (read32 / write32 at config-space
 * offsets) and the capability offset, so the same code drives teeio's device model, a
 * test double or anything else that answers config cycles. The register offsets are
 * wire/doe-registers.ts's (the Linux include/uapi/linux/pci_regs.h names), shared with the
 * device model.
 */

import { type Clock, realClock } from '../wire/clock.ts';
import { clonePlain } from '../wire/clone.ts';
import { PCI_DOE_MAX_LENGTH_DW } from '../wire/doe.ts';
import {
  PCI_DOE_CTRL,
  PCI_DOE_CTRL_ABORT,
  PCI_DOE_CTRL_GO,
  PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
  PCI_DOE_READ,
  PCI_DOE_STATUS,
  PCI_DOE_STATUS_BUSY,
  PCI_DOE_STATUS_DATA_OBJECT_READY,
  PCI_DOE_STATUS_ERROR,
  PCI_DOE_WRITE,
  PCI_EXT_CAP_ID_DOE,
} from '../wire/doe-registers.ts';
import { exchangeMessage } from './exchange.ts';
import { serialQueue } from './serial.ts';
import {
  type RequesterTransport,
  TransportError,
  type TransportMessage,
  type WireTap,
} from './types.ts';

export {
  PCI_DOE_CAP,
  PCI_DOE_CTRL,
  PCI_DOE_CTRL_ABORT,
  PCI_DOE_CTRL_GO,
  PCI_DOE_READ,
  PCI_DOE_STATUS,
  PCI_DOE_STATUS_BUSY,
  PCI_DOE_STATUS_DATA_OBJECT_READY,
  PCI_DOE_STATUS_ERROR,
  PCI_DOE_WRITE,
  PCI_EXT_CAP_ID_DOE,
} from '../wire/doe-registers.ts';

/** Linux PCI_DOE_TIMEOUT (HZ): how long a response may take. */
export const PCI_DOE_TIMEOUT_MS = 1000;

/** Linux PCI_DOE_POLL_INTERVAL (PCI_DOE_TIMEOUT / 128): the pause between Status polls. */
export const PCI_DOE_POLL_INTERVAL_MS = PCI_DOE_TIMEOUT_MS / 128;

/** Config-space access to the function that holds the mailbox (dword, naturally aligned). */
export interface ConfigAccessor {
  read32(offset: number): number;
  write32(offset: number, value: number): void;
}

export interface DoeMailboxOptions {
  /** Deadline for a response, and for Busy / Abort to clear (default 1000 ms, as Linux). */
  timeoutMs?: number;
  /** Most DOE Status polls per wait, whatever the clock says (default 100 000). */
  maxPolls?: number;
  /**
   * Pause between polls in ms (default 0: yield to the event loop only; Linux sleeps
   * PCI_DOE_POLL_INTERVAL = HZ/128). The first few polls never pause.
   */
  pollIntervalMs?: number;
  /** Largest response accepted, in dwords including the header (default 2^18). */
  maxResponseDwords?: number;
  /** Sees every request and response object. */
  onWire?: WireTap;
  /** Deadlines and poll pauses (default: the real clock). */
  clock?: Clock;
}

export interface DoeMailboxTransport extends RequesterTransport {
  readonly binding: 'pci_doe';
  exchangeRaw(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  /** The mailbox failed an abort and is unusable (Linux PCI_DOE_FLAG_DEAD). */
  readonly dead: boolean;
  /** A copy of the driver's state; what is unchanged since `prev` is prev's own. */
  state(prev?: DoeDriverState): DoeDriverState;
  /**
   * Puts the driver back to `s` (a copy is taken): a world snapshot restored, so a mailbox a
   * later step marked dead is live again. Not while an exchange is in flight.
   */
  restore(s: DoeDriverState): void;
}

/** Polls that never pause: a device that answers at Go is read without any timer. */
const SPIN_POLLS = 4;

/**
 * Where the driver is in the register protocol (Linux doe_statemachine_work's steps):
 * 'reset' until the first exchange aborts the mailbox, 'idle' between exchanges, 'send'
 * while the request is written, 'wait' for Data Object Ready, 'receive' while the response
 * is read out, 'abort' while an abort completes; 'dead' (an abort did not complete,
 * Linux PCI_DOE_FLAG_DEAD) is final.
 */
export type DoeDriverPhase = 'reset' | 'idle' | 'send' | 'wait' | 'receive' | 'abort' | 'dead';

/** The driver's whole state as plain data (structuredClone copies it). */
export interface DoeDriverState {
  phase: DoeDriverPhase;
  /** close() was called: every later exchange fails. */
  closed: boolean;
  /** The object being sent, and how many of its dwords are in the Write Data Mailbox. */
  request?: Uint8Array;
  written: number;
  /** Response dwords read so far, and the Length its header announced. */
  response: number[];
  length?: number;
  /** Status polls in the current wait, and when the wait gives up (clock ms). */
  polls: number;
  deadline?: number;
}

export function newDoeDriverState(): DoeDriverState {
  return { phase: 'reset', closed: false, written: 0, response: [], polls: 0 };
}

/**
 * The offset of the first DOE Extended Capability of a function, walking the extended
 * capability list from 0x100 (PCIe 7.6.3); undefined when there is none. The walk stops on
 * an all-ones or zero header and on a loop.
 */
export function findDoeCapability(cfg: ConfigAccessor): number | undefined {
  const seen = new Set<number>();
  let off = 0x100;
  while (off >= 0x100 && off < 0x1000 && !seen.has(off)) {
    seen.add(off);
    const h = cfg.read32(off) >>> 0;
    if (h === 0 || h === 0xffffffff) return undefined;
    if ((h & 0xffff) === PCI_EXT_CAP_ID_DOE) return off;
    off = (h >>> 20) & 0xffc;
  }
  return undefined;
}

/**
 * A requester transport over the DOE mailbox at `capOffset` (binding 'pci_doe'). Exchanges
 * run one at a time: a mailbox holds one object per direction.
 * @throws RangeError when capOffset is not a dword-aligned extended-capability offset.
 */
export function createDoeMailboxTransport(
  cfg: ConfigAccessor,
  capOffset: number,
  opts: DoeMailboxOptions = {},
): DoeMailboxTransport {
  if (!Number.isInteger(capOffset) || capOffset < 0x100 || capOffset > 0xfe8 || capOffset & 3) {
    throw new RangeError(`DOE capability offset 0x${capOffset.toString(16)}`);
  }
  const defaultTimeout = opts.timeoutMs ?? PCI_DOE_TIMEOUT_MS;
  const maxPolls = opts.maxPolls ?? 100_000;
  const interval = opts.pollIntervalMs ?? 0;
  const maxDwords = Math.min(
    opts.maxResponseDwords ?? PCI_DOE_MAX_LENGTH_DW,
    PCI_DOE_MAX_LENGTH_DW,
  );
  const clock = opts.clock ?? realClock;
  const reg = (r: number) => capOffset + r;
  const status = () => cfg.read32(reg(PCI_DOE_STATUS)) >>> 0;
  let st = newDoeDriverState();

  /** Polls until `done(status)` or the deadline / poll budget runs out; the last status. */
  const poll = async (
    done: (s: number) => boolean,
    timeoutMs: number,
  ): Promise<{ ok: boolean; s: number }> => {
    st.deadline = clock.now() + timeoutMs;
    for (st.polls = 0; ; st.polls++) {
      const s = status();
      if (done(s)) return { ok: true, s };
      if (st.polls + 1 >= maxPolls || clock.now() > st.deadline) return { ok: false, s };
      if (st.polls >= SPIN_POLLS) await clock.sleep(interval);
    }
  };

  /** pci_doe_abort: DOE Abort, then wait for Busy and Error to clear; else the mailbox is dead. */
  const abort = async (timeoutMs: number): Promise<void> => {
    st.phase = 'abort';
    st.request = undefined;
    st.written = 0;
    st.response = [];
    st.length = undefined;
    cfg.write32(reg(PCI_DOE_CTRL), PCI_DOE_CTRL_ABORT);
    const r = await poll((s) => !(s & (PCI_DOE_STATUS_BUSY | PCI_DOE_STATUS_ERROR)), timeoutMs);
    st.phase = r.ok ? 'idle' : 'dead';
  };

  /** Aborts, then throws the failure (signal_task_abort). */
  const fail = async (e: TransportError, timeoutMs: number): Promise<never> => {
    await abort(timeoutMs);
    throw e;
  };

  const send = async (object: Uint8Array, timeoutMs: number): Promise<void> => {
    st.phase = 'send';
    st.request = object;
    st.written = 0;
    // Somebody else's object in flight: wait for it, bounded (Linux refuses at once).
    const idle = await poll((s) => !(s & PCI_DOE_STATUS_BUSY), timeoutMs);
    if (!idle.ok) {
      await fail(new TransportError('timeout', 'DOE Busy did not clear'), timeoutMs);
    }
    if (idle.s & PCI_DOE_STATUS_ERROR) {
      await fail(new TransportError('device-error', 'DOE Error set before send'), timeoutMs);
    }
    const dv = new DataView(object.buffer, object.byteOffset, object.byteLength);
    for (; st.written * 4 < object.length; st.written++)
      cfg.write32(reg(PCI_DOE_WRITE), dv.getUint32(st.written * 4, true));
    cfg.write32(reg(PCI_DOE_CTRL), PCI_DOE_CTRL_GO);
    st.phase = 'wait';
  };

  const receive = async (request: Uint8Array, timeoutMs: number): Promise<Uint8Array> => {
    const r = await poll(
      (s) => (s & (PCI_DOE_STATUS_ERROR | PCI_DOE_STATUS_DATA_OBJECT_READY)) !== 0,
      timeoutMs,
    );
    if (r.s & PCI_DOE_STATUS_ERROR) {
      return fail(new TransportError('device-error', 'DOE Error while waiting'), timeoutMs);
    }
    if (!r.ok) {
      return fail(
        new TransportError('timeout', `no DOE response within ${timeoutMs} ms`),
        timeoutMs,
      );
    }
    st.phase = 'receive';
    st.response = [];
    const read = () => cfg.read32(reg(PCI_DOE_READ)) >>> 0;
    const advance = () => cfg.write32(reg(PCI_DOE_READ), 0);
    // Header dword 1: the response must be of the protocol asked (vendor id and type).
    const h1 = read();
    const want = new DataView(request.buffer, request.byteOffset, 4).getUint32(0, true);
    if ((h1 & 0x00ffffff) !== (want & 0x00ffffff)) {
      return fail(
        new TransportError(
          'bad-payload',
          `DOE response vendor 0x${(h1 & 0xffff).toString(16)} type ${(h1 >>> 16) & 0xff} does not match the request`,
        ),
        timeoutMs,
      );
    }
    st.response.push(h1);
    advance();
    const h2 = read();
    st.response.push(h2);
    advance();
    const length = h2 & PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH || PCI_DOE_MAX_LENGTH_DW;
    if (length < 2) {
      return fail(new TransportError('bad-payload', `DOE response Length ${length}`), timeoutMs);
    }
    if (length > maxDwords) {
      return fail(
        new TransportError('bad-payload', `DOE response of ${length} dwords exceeds ${maxDwords}`),
        timeoutMs,
      );
    }
    st.length = length;
    while (st.response.length < length) {
      st.response.push(read());
      // Prior to the last ack, Data Object Ready must still be set.
      if (st.response.length === length && !(status() & PCI_DOE_STATUS_DATA_OBJECT_READY)) {
        return fail(
          new TransportError('device-error', 'Data Object Ready dropped mid-object'),
          timeoutMs,
        );
      }
      advance();
    }
    // An error raised while the object was read out.
    if (status() & PCI_DOE_STATUS_ERROR) {
      return fail(new TransportError('device-error', 'DOE Error after the response'), timeoutMs);
    }
    const out = new Uint8Array(length * 4);
    const dv = new DataView(out.buffer);
    for (const [i, d] of st.response.entries()) dv.setUint32(i * 4, d, true);
    st.phase = 'idle';
    st.request = undefined;
    st.response = [];
    st.length = undefined;
    return out;
  };

  const serial = serialQueue();

  const exchangeRaw = (payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> =>
    serial(async () => {
      const t = timeoutMs ?? defaultTimeout;
      if (st.closed) throw new TransportError('closed', 'DOE mailbox transport is closed');
      if (st.phase === 'reset') await abort(t);
      if (st.phase === 'dead')
        throw new TransportError('closed', 'DOE mailbox is dead (abort did not complete)');
      if (payload.length < 8 || payload.length % 4 !== 0) {
        throw new RangeError(
          `a DOE object is whole dwords, at least 2: got ${payload.length} bytes`,
        );
      }
      opts.onWire?.({ direction: 'request', binding: 'pci_doe', payload });
      await send(payload, t);
      const reply = await receive(payload, t);
      opts.onWire?.({ direction: 'response', binding: 'pci_doe', payload: reply });
      return reply;
    });

  return {
    binding: 'pci_doe',
    get dead() {
      return st.phase === 'dead';
    },
    state: (prev) => clonePlain(st, undefined, prev),
    restore(s) {
      st = clonePlain(s);
    },
    exchangeRaw,
    exchange: (m: TransportMessage, timeoutMs?: number): Promise<TransportMessage> =>
      exchangeMessage('pci_doe', exchangeRaw, m, timeoutMs),
    async close() {
      st.closed = true;
    },
  };
}
