/**
 * A platform wired to the real TDISP device (world/tdisp-device.ts, enumerated as firmware
 * would): the fabric's BAR routes from the host's enumeration record, the device's DMA going up
 * through the fabric, and the TSM's bind steps (platform/tsm/bind.ts) run over the DOE mailbox:
 * SPDM session, IDE stream 0 keyed at the device and the same keys at the root port, the
 * first TDI locked, a confidential VM 'td1' with a private page and the TDI's BAR0 page 0
 * mapped as private MMIO, and its trusted DMA context accepted. `start()` takes the TDI to
 * RUN and records it in the TSM's view the fabric reads.
 */
import { seededRandom } from '../../src/crypto/random.ts';
import type { HostPort } from '../../src/device/pci/ports.ts';
import type { PlatformEvent } from '../../src/platform/events.ts';
import {
  type BarRoute,
  type FabricViews,
  fabricAddBar,
  fabricUpstream,
} from '../../src/platform/fabric.ts';
import { PAGE_SHIFT, type Rid } from '../../src/platform/ids.ts';
import { secureDmaAccept, secureDmaAdd } from '../../src/platform/iommu-secure.ts';
import { assignPrivate } from '../../src/platform/memory.ts';
import {
  rootPortAssociate,
  rootPortKeyProg,
  rootPortKeySetGo,
} from '../../src/platform/root-port.ts';
import { createSept, septAccept, septAdd, septFinalize } from '../../src/platform/sept.ts';
import { createPlatformHw, DEFAULT_MEMORY, type PlatformHw } from '../../src/platform/state.ts';
import type { ProgrammedKey } from '../../src/platform/tsm/ide-km-client.ts';
import {
  connectDevice,
  lockTdi,
  programIdeStream,
  startTdi,
  TdispClient,
} from '../../src/platform/tsm/index.ts';
import { requesterConfig } from '../../src/spdm/config.ts';
import { SpdmRequester } from '../../src/spdm/requester/index.ts';
import type { InterfaceId } from '../../src/wire/tdisp/messages.ts';
import { assignedBars } from '../../src/world/host-view.ts';
import { createTdispDevice, type TdispDevice } from '../../src/world/tdisp-device.ts';

export const VM = 'td1';
export const OTHER_VM = 'td2';
/** Guest frames of td1: private memory, and private MMIO onto the TDI's BAR0 page 0. */
export const PRIVATE_GFN = 0x100n;
export const MMIO_GFN = 0x200n;
export const STREAM = 0;

const firstPage = DEFAULT_MEMORY[0].base >> PAGE_SHIFT;
/** Host pages: td1's private page, td2's private page, a shared page. */
export const TD1_PAGE = firstPage + 16n;
export const TD2_PAGE = firstPage + 17n;
export const SHARED_PAGE = firstPage + 18n;

export interface Rig {
  dev: TdispDevice;
  hw: PlatformHw;
  bus: Map<number, HostPort>;
  views: FabricViews;
  /** The TSM's record of TDIs in RUN (what views.tdiRunning reads). */
  running: Set<Rid>;
  events: PlatformEvent[];
  fn: number;
  rid: Rid;
  /** The TDI's BAR0 as enumeration placed it. */
  bar0: BarRoute;
  keys: ProgrammedKey[];
  tdisp: TdispClient;
  interfaceId: InterfaceId;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** @throws whatever the bind steps throw (the device is the real one: they should not). */
export async function rig(seed = 'platform-rig'): Promise<Rig> {
  const dev = await createTdispDevice({ enumerate: true, random: seededRandom(seed) });
  const hw = createPlatformHw();
  const events: PlatformEvent[] = [];
  const bus = new Map<number, HostPort>([[dev.host.busNumber(), dev.host]]);
  for (const fn of dev.device.functions()) {
    for (const b of assignedBars(dev.profile, dev.enumerated!, fn)) {
      const route = {
        rid: dev.device.requesterId(fn),
        fn,
        bar: b.index,
        base: b.address,
        size: b.size,
      };
      if (!fabricAddBar(hw.fabric, route).result.ok) throw new Error(`BAR route ${fn}:${b.index}`);
    }
  }
  const running = new Set<Rid>();
  const views: FabricViews = {
    tdiRunning: (rid) => running.has(rid),
    // The device's end of the link, as its IDE capability's Stream Status shows it.
    linkSecure: (rid, streamId) =>
      rid >>> 8 === dev.host.busNumber() && dev.device.streamState(streamId) === 'Secure',
  };
  dev.device.attachUpstream(fabricUpstream(hw, views, (e) => events.push(e)));

  const r = new SpdmRequester(dev.doeTransport(), requesterConfig({ trustAnchors: [dev.root] }));
  const { session } = await connectDevice(r);
  const ch = { requester: r, session };
  const { keys } = await programIdeStream(ch, STREAM);
  for (const k of keys) rootPortKeyProg(hw.rootPort, STREAM, k);
  for (const k of keys) rootPortKeySetGo(hw.rootPort, STREAM, k);

  const tdi = dev.tdis()[0];
  const rid = tdi.requesterId;
  rootPortAssociate(hw.rootPort, rid, STREAM);
  const tdisp = new TdispClient(ch);
  const { nonce } = await lockTdi(tdisp, tdi.interfaceId, { defaultStreamId: STREAM });

  const sept = createSept(VM);
  hw.septs.set(VM, sept);
  hw.septs.set(OTHER_VM, createSept(OTHER_VM));
  assignPrivate(hw.memory, TD1_PAGE, VM);
  assignPrivate(hw.memory, TD2_PAGE, OTHER_VM);
  septAdd(sept, PRIVATE_GFN, { kind: 'memory', hpfn: TD1_PAGE });
  septFinalize(sept);
  const bar0 = hw.fabric.bars.get(`${rid}:0`)!;
  septAdd(sept, MMIO_GFN, { kind: 'mmio', hpfn: bar0.base >> PAGE_SHIFT, rid });
  septAccept(sept, MMIO_GFN);
  secureDmaAdd(hw.iommu, rid, VM);
  secureDmaAccept(hw.iommu, rid, VM);
  events.length = 0;

  return {
    dev,
    hw,
    bus,
    views,
    running,
    events,
    fn: tdi.fn,
    rid,
    bar0,
    keys,
    tdisp,
    interfaceId: tdi.interfaceId,
    async start() {
      await startTdi(tdisp, tdi.interfaceId, nonce);
      running.add(rid);
    },
    close: () => r.close(),
  };
}
