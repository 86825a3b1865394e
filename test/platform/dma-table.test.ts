/**
 * Design question 8 (switch dmaTable, platform/iommu-mirror.ts), per flavour, through a world
 * whose guest userspace runs a TDI with a DMA buffer (role vfio-user):
 *
 * - the switch: default 'shared', a platform switch the scenario schema and `explore
 *   --compare` know, built into the IOMMU;
 * - 'mirrored': the IOMMU's own table of the VM is filled at the guest's DMA accept, gains the
 *   buffer page the guest accepts later, and a T=1 DMA translates through it, not through the
 *   secure EPT: with the buffer's secure-EPT entry blocked the DMA still lands (under 'shared'
 *   the same DMA is refused, sept-blocked), and with the mirror's entry gone it is refused
 *   while the secure EPT still maps the page;
 * - the table goes with the trusted DMA context (the guest's unlock);
 * - the firmware refuses to release a page the table maps, with the flavour's code, and
 *   changes nothing; the seeded flaw tsm-release-mirrored-page releases it and I15 breaks
 *   (on SEV the release fences the ASID, which blocks the context and drops the table first);
 * - a snapshot carries the table and a restore brings it back exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransactionEvent } from '../../src/platform/events.ts';
import { fabricDmaWrite } from '../../src/platform/fabric.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { septBlock } from '../../src/platform/sept.ts';
import { PLATFORM_SWITCH_KEYS, platformSwitchesOf } from '../../src/platform/switches.ts';
import { switchPositions } from '../../src/scenario/explore/compare.ts';
import { switchesSchema } from '../../src/scenario/schema.ts';
import { checkInvariants, type Violation } from '../../src/world/invariants.ts';
import type { StepResult } from '../../src/world/ops/index.ts';
import { World, type WorldStep } from '../../src/world/world.ts';
import { vfioUserBetween, vfioUserThrough } from '../support/vfio-user.ts';

const FN = 1;
/** userspace's DMA buffer: guest frame 8 (IOVA = GPA 0x8000). */
const GFN = 8;
const IOVA = 0x8000n;
/** The vfio-user lifecycle up to userspace's first DMA into its buffer (docs/roles.md). */
const TO_DMA = vfioUserThrough('guest.userspace/dma');
/** The rest, up to the guest's unlock, which clears the trusted DMA context. */
const TO_UNLOCK = vfioUserBetween('guest.userspace/dma', 'guest.tsm/unlock');
/** KVM gives the buffer page back to the host (each flavour's page-release path). */
const RELEASE: WorldStep = {
  do: 'host.kvm/set-memory-attributes',
  args: { gpa: '0x8000', size: 4096, attributes: 0 },
};
/** Each flavour's refusal of that release while the IOMMU's table maps the page. */
const REFUSAL: Record<FlavourName, RegExp> = {
  tdx: /TDH\.MEM\.PAGE\.REMOVE: TDX_DEVIF_HAS_MAPPED_DMA/,
  sev: /RMPUPDATE: RMPUPDATE_FAIL_INUSE/,
  cca: /RMI_DATA_DESTROY: RMI_ERROR_DEVICE/,
};

async function world(
  flavour: FlavourName,
  dmaTable: 'shared' | 'mirrored',
  flaws: string[] = [],
): Promise<World> {
  const w = await World.create({
    flavour,
    seed: `dma-table ${flavour}`,
    switches: { dmaTable },
    flaws,
    vms: [{ name: 'vm1', devices: [{ tdi: FN, role: 'vfio-user' }] }],
  });
  for (const step of TO_DMA) {
    const r = await w.perform({ do: step });
    assert.equal(r.ok, true, `${flavour} ${step}: ${r.detail ?? ''}`);
  }
  return w;
}

const vmOf = (w: World) => w.vms.get('vm1')?.firmwareVm ?? '';
const sept = (w: World) => w.pw.p.hw.septs.get(vmOf(w));
const mirror = (w: World) => w.pw.p.hw.iommu.mirrors.get(vmOf(w));
/** The buffer's host page as the secure EPT maps it. */
const bufferPage = (w: World) => Number(sept(w)?.entries[GFN]?.target.hpfn);

/** A T=1 write of the TDI to the buffer straight at the fabric (no guest read after it). */
function dmaWrite(w: World, value: number) {
  const data = new Uint8Array(8).fill(value);
  const o = fabricDmaWrite(w.pw.p.hw, w.pw.views, {
    requesterId: w.rid(FN),
    address: IOVA,
    data,
    t: true,
  });
  return o.events[0] as TransactionEvent;
}

/** Performs `step` and checks the invariants as the scenario runner does. */
async function checked(w: World, step: WorldStep): Promise<[StepResult, Violation[]]> {
  const before = w.frozenView();
  const r = await w.perform(step);
  return [r, checkInvariants(w.view(), r.events, before)];
}

describe('question 8: the switch dmaTable', () => {
  it("is a platform switch, 'shared' by default, that the schema and --compare know", () => {
    assert.ok(PLATFORM_SWITCH_KEYS.includes('dmaTable'));
    assert.equal(platformSwitchesOf({}).dmaTable, 'shared');
    assert.equal(platformSwitchesOf({ dmaTable: 'mirrored' }).dmaTable, 'mirrored');
    assert.deepEqual(switchPositions().dmaTable, ['shared', 'mirrored']);
    assert.equal(switchesSchema.safeParse({ dmaTable: 'mirror' }).success, false);
    assert.equal(createPlatform(undefined).hw.iommu.secureDmaTable, 'shared');
    const p = createPlatform(undefined, {}, { dmaTable: 'mirrored' });
    assert.equal(p.hw.iommu.secureDmaTable, 'mirrored');
    assert.equal(p.switches.dmaTable, 'mirrored');
  });
});

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`dmaTable on ${flavour}`, () => {
    it("'shared': no IOMMU table of its own; a blocked secure-EPT entry stops the DMA", async () => {
      const w = await world(flavour, 'shared');
      assert.equal(w.pw.p.hw.iommu.mirrors.size, 0);
      septBlock(sept(w)!, BigInt(GFN));
      const ev = dmaWrite(w, 0x3c);
      assert.equal(ev.verdict, 'UR');
      assert.equal(ev.reason, 'sept-blocked');
    });

    it("'mirrored': filled at the DMA accept and by the later page accept; the DMA translates through it", async () => {
      const w = await world(flavour, 'mirrored');
      const m = mirror(w);
      assert.ok(m, 'the VM has an IOMMU table');
      // The buffer page was faulted in and accepted after the DMA accept: kept in step.
      assert.equal(m[GFN], bufferPage(w));
      // Every present private page of the secure EPT is in it, and nothing else.
      const present = Object.entries(sept(w)!.entries)
        .filter(([, e]) => e?.state === 'present' && e.target.kind === 'memory')
        .map(([g, e]) => [Number(g), Number(e!.target.hpfn)]);
      assert.deepEqual(
        Object.entries(m).map(([g, h]) => [Number(g), h]),
        present,
      );

      // The tables differ: the CPU's entry blocked, the device's write still lands.
      septBlock(sept(w)!, BigInt(GFN));
      const ev = dmaWrite(w, 0x3c);
      assert.equal(ev.verdict, 'SC');
      assert.deepEqual(
        [...(w.pw.p.hw.memory.data[bufferPage(w)] ?? new Uint8Array(8)).subarray(0, 8)],
        Array(8).fill(0x3c),
      );
      // And the other way: the secure EPT maps the page, the IOMMU's table does not.
      delete m[GFN];
      const gone = dmaWrite(w, 0x5a);
      assert.equal(gone.verdict, 'UR');
      assert.equal(gone.reason, 'mirror-not-mapped');
    });

    it("'mirrored': the table goes with the trusted DMA context (the guest's unlock)", async () => {
      const w = await world(flavour, 'mirrored');
      assert.ok(mirror(w));
      for (const step of TO_UNLOCK) {
        const r = await w.perform({ do: step });
        assert.equal(r.ok, true, `${step}: ${r.detail ?? ''}`);
      }
      assert.equal(w.pw.p.hw.iommu.secure.has(w.rid(FN)), false);
      assert.equal(w.pw.p.hw.iommu.mirrors.size, 0);
      // With no table left, the page goes back to the host.
      const [r, vs] = await checked(w, RELEASE);
      assert.equal(r.ok, true, r.detail);
      assert.deepEqual(vs, []);
    });

    it("'mirrored': the firmware refuses to release a page the table maps; the page stays the guest's", async () => {
      const w = await world(flavour, 'mirrored');
      const hpfn = bufferPage(w);
      const [r, vs] = await checked(w, RELEASE);
      assert.equal(r.ok, false);
      assert.match(r.detail ?? '', REFUSAL[flavour]);
      assert.deepEqual(vs, []);
      assert.deepEqual(w.pw.p.hw.memory.owners[hpfn], { kind: 'private', vm: vmOf(w) });
      assert.equal(mirror(w)?.[GFN], hpfn);
      // TDX's host blocks and tracks in calls of their own before the remove is refused; SEV's
      // RMPUPDATE and CCA's RMI_DATA_DESTROY are one call each, refused before it changes anything.
      assert.equal(sept(w)?.entries[GFN]?.state, flavour === 'tdx' ? 'blocked' : 'present');
    });

    if (flavour === 'sev') {
      it('the seeded flaw tsm-release-mirrored-page: the ASID fence takes the table away first', async () => {
        const w = await world(flavour, 'mirrored', ['tsm-release-mirrored-page']);
        const hpfn = bufferPage(w);
        const [r, vs] = await checked(w, RELEASE);
        assert.equal(r.ok, true, r.detail);
        assert.equal(w.pw.p.hw.memory.owners[hpfn], undefined, 'the page is the host’s');
        // RMPUPDATE under a running TDI fences the ASID, which blocks the trusted DMA
        // context, and the table goes with it: the device no longer reaches the page.
        assert.equal(w.pw.p.hw.iommu.secure.get(w.rid(FN))?.state, 'blocked');
        assert.equal(mirror(w), undefined);
        assert.deepEqual(vs, []);
        assert.equal(dmaWrite(w, 0x77).reason, 'secure-dma-blocked');
      });
    } else {
      it('the seeded flaw tsm-release-mirrored-page releases it, and I15 breaks', async () => {
        const w = await world(flavour, 'mirrored', ['tsm-release-mirrored-page']);
        const hpfn = bufferPage(w);
        const [r, vs] = await checked(w, RELEASE);
        assert.equal(r.ok, true, r.detail);
        assert.equal(w.pw.p.hw.memory.owners[hpfn], undefined, 'the page is the host’s');
        assert.deepEqual(
          vs.map((v) => [v.invariant, v.component]),
          [['I15', 'platform/iommu']],
        );
        // The device still reaches it: its write lands in the host's page.
        assert.equal(dmaWrite(w, 0x77).verdict, 'SC');
        assert.equal(w.pw.p.hw.memory.data[hpfn]?.[0], 0x77);
      });
    }

    it("'mirrored': a snapshot carries the table; a restore brings it back exactly", async () => {
      const w = await world(flavour, 'mirrored');
      const before = structuredClone(w.pw.p.hw.iommu.mirrors);
      const snap = w.snapshot();
      for (const step of TO_UNLOCK) await w.perform({ do: step });
      assert.equal(w.pw.p.hw.iommu.mirrors.size, 0);
      w.restore(snap);
      assert.deepEqual(w.pw.p.hw.iommu.mirrors, before);
      // The restored table is the one the fabric translates through.
      septBlock(sept(w)!, BigInt(GFN));
      assert.equal(dmaWrite(w, 0x11).verdict, 'SC');
      // The snapshot kept its own copy: restoring it again gives the same table.
      w.restore(snap);
      assert.deepEqual(w.pw.p.hw.iommu.mirrors, before);
    });
  });
}
