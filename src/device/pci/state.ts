/**
 * The device model's state as plain data (DESIGN.md principle 2): every function's config
 * space, BAR memory, DOE mailbox and the IDE link state are Maps, arrays and typed
 * arrays, so `structuredClone` snapshots a whole device. Facts the DSM owns (MSI-X locked,
 * IDE stream Secure) are not copied here: the device asks the DSM's installed policy. Behaviour lives in the
 * capability modules, which get a `FnContext` for the function a config access hit.
 */
import type { ConfigSecurityEvent } from '../events.ts';
import type { BarTable } from './bar.ts';
import type { DoeState } from './caps/doe.ts';
import type { IdeLayout, IdeState } from './caps/ide.ts';
import type { MsixLayout } from './caps/msix.ts';
import type { RebarLayout } from './caps/rebar.ts';
import type { SriovLayout } from './caps/sriov.ts';
import type { ConfigSpace } from './config-space.ts';
import type { SparseMemory } from './memory.ts';
import type { NonTeeRange } from './profile.ts';

export type RegionKind =
  | 'header'
  | 'pm'
  | 'pcie'
  | 'msix'
  | 'doe'
  | 'ide'
  | 'sriov'
  | 'ats'
  | 'pri'
  | 'pasid'
  | 'ari'
  | 'rebar'
  | 'tph'
  | 'lnr';

/** A range of config space owned by one register block ([start, end)). */
export interface Region {
  kind: RegionKind;
  start: number;
  end: number;
}

/** Where each capability of a function sits (offsets into config space). */
export interface CapLayouts {
  pm?: number;
  pcie: number;
  msix?: MsixLayout;
  doe?: number;
  ide?: IdeLayout;
  sriov?: SriovLayout;
  ats?: number;
  pri?: number;
  pasid?: number;
  ari?: number;
  rebar?: RebarLayout;
  tph?: number;
  lnr?: number;
}

export type PowerState = 'D0' | 'D3hot';

export interface FunctionState {
  /** Routing-id function number (8 bits, ARI style: the device sits at device 0). */
  fn: number;
  kind: 'pf' | 'vf';
  /** For a VF its PF's function number; for a PF its own. */
  pf: number;
  /** 1-based VF number (0 for a PF). */
  vfIndex: number;
  tdi: boolean;
  cs: ConfigSpace;
  /** The reset image FLR and power-state loss restore. */
  defaults: ConfigSpace;
  regions: Region[];
  caps: CapLayouts;
  bars: BarTable;
  defaultBars: BarTable;
  romSize?: bigint;
  bist: boolean;
  /** Backing memory per BAR index. */
  memory: SparseMemory[];
  /**
   * The model's observation, not device behaviour (a device keeps no such record): per BAR
   * index, the pages of `memory` whose last write was T=0 since the function was last reset
   * or scrubbed. A T=1 write takes its pages out; absent when there are none. Invariant I14
   * reads it; the MSI-X table and PBA, which the host programs, are never counted.
   */
  t0Pages?: Map<number, Set<number>>;
  power: PowerState;
  doe?: DoeState;
  nonTee: NonTeeRange[];
  deviceSpecificInfo?: Uint8Array;
}

export interface DeviceState {
  bus: number;
  functions: Map<number, FunctionState>;
  ide?: IdeState;
}

/** A DOE object in, a DOE object (or nothing) out; synchronous (the DSM's entry point). */
export type DoeHandler = (object: Uint8Array) => Uint8Array | undefined;

/** What capability code may ask of the device beyond its own function. */
export interface DeviceOps {
  readonly state: DeviceState;
  /** Queues an event; delivered to subscribers once the access has completed. */
  emit(fn: number, event: ConfigSecurityEvent): void;
  vfsOf(pf: FunctionState): FunctionState[];
  /** FLR: events for the function (and a PF's VFs), then reset to defaults. */
  functionLevelReset(fs: FunctionState): void;
  /** Internal reset on D3hot -> D0 without No_Soft_Reset (events were sent on entry). */
  powerReset(fs: FunctionState): void;
  setVfEnable(pf: FunctionState, enable: boolean): void;
  doeHandler(): DoeHandler | undefined;
  /** LOCK_MSIX holds the function's MSI-X (the DSM owns the fact). */
  msixLocked(fn: number): boolean;
  /** The stream is Secure on the link now: link up and keys started (the DSM owns those). */
  streamSecure(streamId: number): boolean;
  /** Emits IDE_STREAM_INSECURE for each stream to every function. */
  streamsLeftSecure(streamIds: number[]): void;
}

export interface FnContext {
  fs: FunctionState;
  dev: DeviceOps;
}
