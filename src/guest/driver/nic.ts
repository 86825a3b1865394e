/**
 * A guest driver for an accepted (RUN) device: T=1 MMIO to its private BARs through the
 * secure EPT, DMA into the guest's private memory, and what the guest observes when the
 * untrusted host pulls something away (SYSTEM.md invariant 10): on SEV-TIO the fenced ASID
 * reads all ones and drops writes, on TDX the access faults (#VE for a private GPA the
 * secure EPT no longer maps to a running TDI), on CCA the Realm takes a fatal abort.
 *
 * teeio's NIC has no DMA engine of its own: the driver programs a descriptor (the buffer's
 * GPA) into a register of BAR0 and marks DMA active; the device model (the test) issues the
 * DMA to that address, and the driver reads the buffer from private memory.
 */
import type { MmioAccess } from '../../platform/fabric.ts';
import type { Outcome } from '../../platform/result.ts';
import type { GuestMachine } from '../machine.ts';
import { fail, finish, type GuestOutcome } from '../outcome.ts';
import type { GuestDevice, GuestState } from '../state.ts';
import { roleRefusal } from '../vfio/role.ts';

/** Where the driver writes the DMA buffer's GPA (64-bit, little endian) in BAR0. */
export const NIC_DMA_ADDR = 0x100;

/** What one CPU access to the device came to, as the guest sees it. */
export type Observation =
  | { kind: 'ok'; data?: Uint8Array }
  /** SEV-TIO ASID fence: the read returned all ones (or the write was dropped). */
  | { kind: 'all-ones'; data?: Uint8Array }
  /** TDX: the access faulted; the fabric's reason. */
  | { kind: 'faulted'; reason: string }
  /** CCA: the Realm took a fatal abort (or was already dead). */
  | { kind: 'realm-killed' };

function running(g: GuestState, vdevId: number): GuestDevice | ReturnType<typeof fail> {
  const dev = g.devices.get(vdevId);
  if (!dev) return fail('ENODEV', `no device ${vdevId}`);
  if (dev.tsm !== 'run') return fail('EINVAL', `the device is ${dev.tsm}, not accepted`);
  return dev;
}

/** probe: the driver takes a running device its role gives a kernel driver. */
export function driverBind(g: GuestState, vdevId: number): GuestOutcome {
  const op = 'driver/bind';
  const known = g.devices.get(vdevId);
  const mismatch = known && roleRefusal(known, 'kernel-driver');
  if (mismatch) return finish(op, { vdevId }, [], mismatch);
  const dev = running(g, vdevId);
  if ('ok' in dev) return finish(op, { vdevId }, [], dev);
  if (dev.driver) return finish(op, { vdevId }, [], fail('EBUSY', 'a driver is bound'));
  dev.driver = true;
  return finish(op, { vdevId }, [], { ok: true, value: undefined });
}

/** remove: the driver lets go (DMA stopped first). */
export function driverUnbind(g: GuestState, vdevId: number): GuestOutcome {
  const op = 'driver/unbind';
  const dev = g.devices.get(vdevId);
  if (!dev?.driver) return finish(op, { vdevId }, [], fail('ENODEV', 'no driver bound'));
  if (dev.vfio) return finish(op, { vdevId }, [], fail('ENODEV', 'the bound driver is vfio-pci'));
  dev.driver = false;
  dev.dmaActive = false;
  return finish(op, { vdevId }, [], { ok: true, value: undefined });
}

/** What the guest sees of one CPU access to a device BAR (any user of the BAR: driver, DPDK). */
export function observe(
  m: GuestMachine,
  o: Outcome<{ status: string; data?: Uint8Array }>,
): Observation {
  const r = o.result;
  if (r.status === 'SC') return r.data ? { kind: 'ok', data: r.data } : { kind: 'ok' };
  const ev = o.events as { kind: string; reason?: string }[];
  switch (m.flavour) {
    case 'sev':
      return r.data ? { kind: 'all-ones', data: r.data } : { kind: 'all-ones' };
    case 'cca':
      if (ev.some((e) => e.kind === 'realm-abort') || !ev.some((e) => e.kind === 'transaction')) {
        return { kind: 'realm-killed' };
      }
      break;
  }
  const t = ev.find((e) => e.kind === 'transaction');
  return { kind: 'faulted', reason: t?.reason ?? r.status };
}

export function barGpa(dev: GuestDevice, bar: number, offset: number): bigint | undefined {
  const b = dev.bars.find((x) => x.index === bar);
  return b && BigInt(offset) < b.size ? b.address + BigInt(offset) : undefined;
}

/** A read of the bound device's BAR `bar` at `offset`. */
export function nicRead(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  bar: number,
  offset: number,
  size = 4,
): GuestOutcome<Observation> {
  const op = 'driver/mmio-read';
  const args = { vdevId, bar, offset };
  const dev = running(g, vdevId);
  if ('ok' in dev) return finish(op, args, [], dev);
  const gpa = barGpa(dev, bar, offset);
  if (gpa === undefined) return finish(op, args, [], fail('EINVAL', `BAR ${bar} +${offset}`));
  const o: Outcome<MmioAccess> = m.mmioRead(gpa, size);
  return finish(op, args, o.events, { ok: true, value: observe(m, o) });
}

/** A write of `data` to the bound device's BAR `bar` at `offset`. */
export function nicWrite(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  bar: number,
  offset: number,
  data: Uint8Array,
): GuestOutcome<Observation> {
  const op = 'driver/mmio-write';
  const args = { vdevId, bar, offset };
  const dev = running(g, vdevId);
  if ('ok' in dev) return finish(op, args, [], dev);
  const gpa = barGpa(dev, bar, offset);
  if (gpa === undefined) return finish(op, args, [], fail('EINVAL', `BAR ${bar} +${offset}`));
  const o = m.mmioWrite(gpa, data);
  return finish(op, args, o.events, { ok: true, value: observe(m, o) });
}

/** Programs a DMA into the guest's buffer at `bufferGpa`; the device is then not DMA-idle. */
export function nicDmaStart(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  bufferGpa: bigint,
): GuestOutcome<Observation> {
  const addr = new Uint8Array(8);
  new DataView(addr.buffer).setBigUint64(0, bufferGpa, true);
  const w = nicWrite(m, g, vdevId, 0, NIC_DMA_ADDR, addr);
  const dev = g.devices.get(vdevId);
  if (w.ok && w.value.kind === 'ok' && dev) dev.dmaActive = true;
  return w;
}

/** Stops the DMA (descriptor cleared): the device is DMA-idle again. */
export function nicDmaStop(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
): GuestOutcome<Observation> {
  const w = nicWrite(m, g, vdevId, 0, NIC_DMA_ADDR, new Uint8Array(8));
  const dev = g.devices.get(vdevId);
  if (dev) dev.dmaActive = false;
  return w;
}

/** The guest reads what the device wrote into its private buffer. */
export function dmaBuffer(m: GuestMachine, gpa: bigint, length: number): Uint8Array | undefined {
  return m.memRead(gpa, length);
}
