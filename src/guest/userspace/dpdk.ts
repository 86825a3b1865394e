/**
 * A small DPDK-like userspace driver in the confidential guest (SYSTEM.md section 1, the
 * user of VFIO's second and third roles): it reaches the device only through the guest's
 * vfio-pci (guest/vfio/pci.ts), as DPDK's vfio bus driver does: open the device cdev, read
 * the region info, mmap BAR0, map a hugepage buffer for DMA (IOMMU_IOAS_MAP, IOVA = GPA),
 * then MMIO through the mapping and DMA into its buffer, which is the guest's private memory.
 *
 * Its MMIO is the guest CPU's access at the BAR's GPA: T=1 through the secure EPT once the
 * device is accepted; what it observes when the host pulls something away is what the
 * kernel driver observes (driver/nic.ts observe). teeio's NIC has no DMA engine of its own:
 * the driver writes the buffer's IOVA into BAR0 at NIC_DMA_ADDR, and whoever plays the
 * device (the world) issues the DMA there.
 */
import { barGpa, NIC_DMA_ADDR, type Observation, observe } from '../driver/nic.ts';
import type { GuestMachine } from '../machine.ts';
import { fail, finish, type GuestOutcome } from '../outcome.ts';
import type { GuestState } from '../state.ts';
import { openedDevice } from '../vfio/pci.ts';

/** The device userspace holds with BAR `bar` mmapped, and the GPA of `offset` in it. */
function mapped(g: GuestState, vdevId: number, bar: number, offset: number) {
  const d = openedDevice(g, vdevId);
  if (!d.ok) return d;
  const dev = d.value;
  if (!dev.vfio?.mmapped.includes(bar)) return fail('EFAULT', `BAR ${bar} is not mmapped`);
  const gpa = barGpa(dev, bar, offset);
  if (gpa === undefined) return fail('EFAULT', `BAR ${bar} +${offset} is past the mapping`);
  return { ok: true as const, value: { dev, gpa } };
}

/** A 32-bit read through the BAR mapping. -EBADF not open, -EFAULT not mapped (SIGSEGV). */
export function dpdkMmioRead(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  bar: number,
  offset: number,
): GuestOutcome<Observation> {
  const op = 'dpdk/mmio-read';
  const args = { vdevId, bar, offset };
  const at = mapped(g, vdevId, bar, offset);
  if (!at.ok) return finish(op, args, [], at);
  const o = m.mmioRead(at.value.gpa, 4);
  return finish(op, args, o.events, { ok: true, value: observe(m, o) });
}

/** A write of `data` through the BAR mapping. */
export function dpdkMmioWrite(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  bar: number,
  offset: number,
  data: Uint8Array,
): GuestOutcome<Observation> {
  const op = 'dpdk/mmio-write';
  const args = { vdevId, bar, offset };
  const at = mapped(g, vdevId, bar, offset);
  if (!at.ok) return finish(op, args, [], at);
  const o = m.mmioWrite(at.value.gpa, data);
  return finish(op, args, o.events, { ok: true, value: observe(m, o) });
}

/**
 * Starts a receive into the mapped DMA buffer: its IOVA written to the descriptor register
 * through BAR0; the device is then not DMA-idle. -EINVAL no buffer mapped.
 */
export function dpdkDmaStart(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
): GuestOutcome<Observation & { iova?: bigint }> {
  const d = openedDevice(g, vdevId);
  const buf = d.ok ? d.value.vfio?.dma : undefined;
  if (!buf) {
    const why = d.ok ? fail('EINVAL', 'no DMA buffer mapped (IOMMU_IOAS_MAP)') : d;
    return finish('dpdk/dma-start', { vdevId }, [], why);
  }
  const addr = new Uint8Array(8);
  new DataView(addr.buffer).setBigUint64(0, buf.iova, true);
  const w = dpdkMmioWrite(m, g, vdevId, 0, NIC_DMA_ADDR, addr);
  if (w.ok && w.value.kind === 'ok' && d.ok) d.value.dmaActive = true;
  return w.ok ? { ...w, value: { ...w.value, iova: buf.iova } } : w;
}

/** Stops the receive (descriptor cleared): the device is DMA-idle again. */
export function dpdkDmaStop(m: GuestMachine, g: GuestState, vdevId: number): GuestOutcome<unknown> {
  const w = dpdkMmioWrite(m, g, vdevId, 0, NIC_DMA_ADDR, new Uint8Array(8));
  const dev = g.devices.get(vdevId);
  if (dev) dev.dmaActive = false;
  return w;
}

/** Userspace reads `length` bytes of its DMA buffer (private memory; undefined: unmapped). */
export function dpdkDmaRead(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  length: number,
): GuestOutcome<Uint8Array> {
  const op = 'dpdk/dma-read';
  const args = { vdevId, length };
  const d = openedDevice(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const buf = d.value.vfio?.dma;
  if (!buf) return finish(op, args, [], fail('EINVAL', 'no DMA buffer mapped'));
  const data = m.memRead(buf.iova, length);
  if (!data) return finish(op, args, [], fail('EFAULT', 'the buffer is not mapped in the guest'));
  return finish(op, args, [], { ok: true, value: data });
}
