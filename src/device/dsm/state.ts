/**
 * The DSM's whole state as plain data (DESIGN.md principle 2) and the shape of a
 * transition: handlers are functions (state, input, env) -> (state, response, effects,
 * events). Effects are what the hardware must do (report a stream state change, scrub);
 * the `Dsm` class applies them after committing the new state. What the hardware shows of
 * the DSM's own facts (stream Secure, MSI-X locked) it reads from this state.
 */
import type { RandomSource } from '../../crypto/random.ts';
import type { VendorHandlerResult } from '../../spdm/vendor.ts';
import type { KeyOrder } from '../../wire/idekm/messages.ts';
import type { Behaviour } from './behaviour.ts';
import type { CxlIdeCapability, CxlIdeKmState } from './cxl-ide-km/keys.ts';
import { type CxlTspCapability, type CxlTspState, initialCxlTspState } from './cxl-tsp/target.ts';
import type { DsmEvent } from './events.ts';
import type { DsmFlaw } from './flaws.ts';
import type { HwView, IdeStreamState } from './hardware.ts';
import type { IdeKmState } from './ide-km/keys.ts';
import type { Tdi } from './tdi.ts';

export interface DsmState {
  ideKm: IdeKmState;
  /** CXL.cachemem IDE keys (CXL_IDE_KM); no ports when the device has no CXL IDE. */
  cxlIdeKm: CxlIdeKmState;
  /** The CXL TSP target (configuration, lock, TE ranges); untouched on a device without TSP. */
  cxlTsp: CxlTspState;
  /** TDIs by function number; a function not listed is CONFIG_UNLOCKED. */
  tdis: Record<number, Tdi>;
  /**
   * The device's firmware: its version, counted from 1 (absent: 1, never updated). The
   * SPDM responder's firmware measurements follow it (world/tdisp-device.ts).
   */
  firmware?: { version: number };
  /** Seeded flaws (flaws.ts); absent on a faithful DSM. */
  flaws?: DsmFlaw[];
}

export function initialDsmState(flaws: readonly DsmFlaw[] = []): DsmState {
  return {
    ideKm: { streams: {} },
    cxlIdeKm: { ports: {} },
    cxlTsp: initialCxlTspState(),
    tdis: {},
    ...(flaws.length ? { flaws: [...flaws] } : {}),
  };
}

export type HwEffect =
  | { kind: 'setStreamState'; streamId: number; state: IdeStreamState }
  | { kind: 'scrub'; fn: number };

export interface Step {
  state: DsmState;
  result: VendorHandlerResult;
  effects: HwEffect[];
  events: DsmEvent[];
}

/**
 * What handlers may read besides the state: configuration, randomness, and the hardware
 * view captured for this one transition (plain data; handlers never call the hardware).
 */
export interface DsmEnv {
  behaviour: Behaviour;
  hw: HwView;
  random: RandomSource;
  /** PCI segment of this device (FunctionID bits 23:16 when Segment Valid is set). */
  segment: number;
  keyOrder: KeyOrder;
  /** LOCK needs the default stream's keys from the same session (PCIe 11.3.8). */
  requireIde: boolean;
  /** Report TEE ranges as IS_MEM_ATTR_UPDATABLE and accept SET_MMIO_ATTRIBUTE for them. */
  mmioAttributeUpdatable: boolean;
  /** Device-specific report bytes for a function, when the hardware view has none. */
  deviceSpecificInfo: (fn: number) => Uint8Array | undefined;
  /** The device's CXL IDE; undefined for a device without CXL (CXL_IDE_KM not served). */
  cxlIde?: CxlIdeCapability;
  /** The device's CXL TSP target; undefined when it has none (TSP not served). */
  cxlTsp?: CxlTspCapability;
}
