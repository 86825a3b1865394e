/**
 * The guest's VFIO and its userspace (SYSTEM.md section 1, VFIO's second and third roles):
 * vfio-pci binding the device, its own lock / attest / accept / unlock when the device's
 * role is 'vfio-attester', the device cdev handed to a DPDK-like userspace, and that
 * userspace's MMIO and DMA. The world plays the NIC's DMA engine for `guest.userspace/dma`:
 * it issues the device's write to the IOVA the driver programmed, as teeio's device model
 * has none of its own.
 *
 * Which of these a device allows is its role (WorldConfig vms[].devices[].role): an op the
 * role does not allow is refused with the errno and the role named (guest/vfio/role.ts).
 */
import { acceptMemory } from '../../guest/memory.ts';
import type { GuestRole } from '../../guest/state.ts';
import {
  dpdkDmaRead,
  dpdkDmaStart,
  dpdkDmaStop,
  dpdkMmioRead,
  dpdkMmioWrite,
} from '../../guest/userspace/dpdk.ts';
import {
  openedDevice,
  vfioCdevClose,
  vfioCdevOpen,
  vfioDmaMap,
  vfioMmapBar,
  vfioPciBind,
  vfioPciUnbind,
  vfioRegionInfo,
} from '../../guest/vfio/pci.ts';
import { vfioTsmAccept, vfioTsmAttest, vfioTsmLock, vfioTsmUnlock } from '../../guest/vfio/tsm.ts';
import type { StepEvent } from '../invariants.ts';
import type { World, WorldStep } from '../world.ts';
import { arg, fromGuest, guestOf, observed, type StepResult } from './result.ts';
import type { OpTable, WorldOp } from './types.ts';

/**
 * The honest guest's steps for one device, by its role (SYSTEM.md section 1): lock, attest,
 * accept, use, let go, by whoever the role makes the attester and the user. What the
 * explorer's backbone walks for each device (scenario/explore/moves.ts).
 */
export const GUEST_LIFECYCLE: Readonly<Record<GuestRole, readonly string[]>> = {
  'guest-kernel': [
    'guest.tsm/lock',
    'guest.attest',
    'guest.tsm/accept',
    'guest.driver/bind',
    'guest.mmio-write',
    'guest.mmio-read',
    'guest.driver/unbind',
    'guest.tsm/unlock',
  ],
  'vfio-attester': [
    'guest.vfio/bind',
    'guest.vfio/lock',
    'guest.vfio/attest',
    'guest.vfio/accept',
    'guest.vfio/open',
    'guest.userspace/map',
    'guest.userspace/mmio-write',
    'guest.userspace/mmio-read',
    'guest.userspace/dma',
    'guest.vfio/close',
    'guest.vfio/unlock',
    'guest.vfio/unbind',
  ],
  'vfio-user': [
    'guest.tsm/lock',
    'guest.attest',
    'guest.tsm/accept',
    'guest.vfio/bind',
    'guest.vfio/open',
    'guest.userspace/map',
    'guest.userspace/mmio-write',
    'guest.userspace/mmio-read',
    'guest.userspace/dma',
    'guest.vfio/close',
    'guest.vfio/unbind',
    'guest.tsm/unlock',
  ],
};

/** The userspace's DMA buffer by default: one page of guest RAM at 32 KiB (IOVA = GPA). */
const DMA_IOVA = 0x8000;
const DEFAULT_RAM_PAGES = 64;
/** When the attester's certificates are checked (the same instant as guest.attest). */
const ATTEST_AT = new Date(Date.UTC(2026, 0, 1));

/** One step of `name` per VM and TDI assigned to it, with each argument set of `args`. */
export function perAssigned(
  w: World,
  name: string,
  args: readonly (WorldStep['args'] | undefined)[] = [undefined],
): WorldStep[] {
  const out: WorldStep[] = [];
  for (const v of w.vms.values()) {
    for (const fn of v.vdevs.keys()) {
      for (const a of args) out.push({ do: name, vm: v.name, tdi: fn, ...(a ? { args: a } : {}) });
    }
  }
  return out;
}

type Ctx = Exclude<ReturnType<typeof guestOf>, { error: unknown }>;

/** Guest op `name` on an assigned device: the guest's side found, or the refusal. */
function guestOp(
  name: string,
  run: (w: World, x: Ctx, step: WorldStep) => Promise<StepResult>,
  args?: readonly (WorldStep['args'] | undefined)[],
): [string, WorldOp] {
  const op: WorldOp = {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      return 'error' in x ? (x.error as StepResult) : run(w, x, step);
    },
    candidates: (w) => perAssigned(w, name, args),
  };
  return [name, op];
}

const BAR_ARGS = [{ bar: 0 }, { bar: 5 }];
const MMIO_ARGS = [
  { bar: 0, offset: 0 },
  { bar: 0, offset: 0xffc },
  { bar: 0, offset: 0x100000 },
];

export const GUEST_VFIO_OPS: OpTable = Object.fromEntries([
  guestOp('guest.vfio/bind', async (_w, x) => fromGuest(vfioPciBind(x.g, x.vdevId))),
  guestOp('guest.vfio/unbind', async (_w, x) => fromGuest(vfioPciUnbind(x.g, x.vdevId))),
  guestOp('guest.vfio/lock', async (_w, x) => fromGuest(await vfioTsmLock(x.gm, x.g, x.vdevId))),
  guestOp('guest.vfio/attest', async (w, x) =>
    fromGuest(await vfioTsmAttest(x.gm, x.g, x.vdevId, w.policy, ATTEST_AT)),
  ),
  guestOp('guest.vfio/accept', async (_w, x) =>
    fromGuest(await vfioTsmAccept(x.gm, x.g, x.vdevId)),
  ),
  guestOp('guest.vfio/unlock', async (_w, x) =>
    fromGuest(await vfioTsmUnlock(x.gm, x.g, x.vdevId)),
  ),
  guestOp('guest.vfio/open', async (_w, x) => fromGuest(vfioCdevOpen(x.g, x.vdevId))),
  guestOp('guest.vfio/close', async (_w, x) =>
    fromGuest(await vfioCdevClose(x.gm, x.g, x.vdevId, dpdkDmaStop)),
  ),
  // DPDK's probe of its device: the region's info, the BAR mmapped, its hugepage buffer mapped.
  guestOp(
    'guest.userspace/map',
    async (_w, x, step) => {
      const bar = arg(step, 'bar', 0);
      const info = vfioRegionInfo(x.g, x.vdevId, bar);
      if (!info.ok) return fromGuest(info);
      const mm = vfioMmapBar(x.g, x.vdevId, bar);
      const events = [...info.events, ...mm.events] as StepEvent[];
      if (!mm.ok) return { ...fromGuest(mm), events };
      const dev = x.g.devices.get(x.vdevId);
      if (bar !== 0 || dev?.vfio?.dma) return { ok: true, events };
      const map = vfioDmaMap(x.g, x.vdevId, {
        iova: BigInt(arg(step, 'iova', DMA_IOVA)),
        pages: arg(step, 'pages', 1),
        ramPages: x.v.config.ramPages ?? DEFAULT_RAM_PAGES,
      });
      return { ...fromGuest(map), events: [...events, ...(map.events as StepEvent[])] };
    },
    [{ bar: 0 }, ...BAR_ARGS.slice(1), { bar: 0, iova: 0x8001 }, { bar: 0, pages: 4096 }],
  ),
  guestOp(
    'guest.userspace/mmio-write',
    async (_w, x, step) => {
      const data = new Uint8Array(4);
      new DataView(data.buffer).setUint32(0, arg(step, 'value', 0xcafef00d) >>> 0, true);
      return observed(
        dpdkMmioWrite(x.gm, x.g, x.vdevId, arg(step, 'bar', 0), arg(step, 'offset', 0), data),
      );
    },
    MMIO_ARGS,
  ),
  guestOp(
    'guest.userspace/mmio-read',
    async (_w, x, step) =>
      observed(dpdkMmioRead(x.gm, x.g, x.vdevId, arg(step, 'bar', 0), arg(step, 'offset', 0))),
    MMIO_ARGS,
  ),
  guestOp('guest.userspace/dma', async (w, x, step) => userspaceDma(w, x, step), [
    undefined,
    { value: 0 },
  ]),
]);

/**
 * A receive into userspace's buffer: the guest touches its buffer (KVM maps the private
 * page), the driver programs the descriptor, the device (the world) writes `length` bytes of
 * `value` at the programmed IOVA, userspace reads its buffer, the descriptor is cleared. ok
 * when the bytes landed in the guest's private memory; EIO with what happened otherwise.
 */
async function userspaceDma(w: World, x: Ctx, step: WorldStep): Promise<StepResult> {
  const events: StepEvent[] = [];
  const d = openedDevice(x.g, x.vdevId);
  const buf = d.ok ? d.value.vfio?.dma : undefined;
  if (buf) {
    events.push(...(await w.faultIn(x.v, buf.iova, buf.pages)));
    events.push(...((await acceptMemory(x.gm, buf.iova, buf.pages)) as StepEvent[]));
  }
  const start = dpdkDmaStart(x.gm, x.g, x.vdevId);
  events.push(...(start.events as StepEvent[]));
  if (!start.ok || start.value.kind !== 'ok' || start.value.iova === undefined) {
    return { ...observed(start), events };
  }
  const length = 8;
  const payload = new Uint8Array(length).fill(arg(step, 'value', 0xa5) & 0xff);
  const dma = w.pw.dev.device.dmaWrite(w.tdiFn(step), start.value.iova, payload);
  const back = dpdkDmaRead(x.gm, x.g, x.vdevId, length);
  events.push(...(back.events as StepEvent[]));
  events.push(...(dpdkDmaStop(x.gm, x.g, x.vdevId).events as StepEvent[]));
  const landed = back.ok && back.value.every((b, i) => b === payload[i]);
  if (landed) return { ok: true, value: back.ok ? back.value : undefined, events };
  const how = dma.issued ? `T=${dma.t ? 1 : 0} ${dma.status}` : `not issued (${dma.reason})`;
  return { ok: false, errno: 'EIO', detail: `the device's DMA did not land: ${how}`, events };
}
