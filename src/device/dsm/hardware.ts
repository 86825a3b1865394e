/**
 * What the Device Security Manager needs from the PCIe function model (device/pci/), and
 * what it tells it: PCIe 6.x section 11.2 (TDISP rules the DSM enforces through the
 * hardware) and section 6.33 (IDE stream state shown in the IDE Extended Capability).
 *
 * The DSM only ever reaches the hardware through this interface, so the same DSM runs on
 * the real device model, on a test double, or on a user's own model. Its transitions never
 * call it: the DSM captures the facts they read as a plain HwView first, so a transition
 * is a function of (state, request, hardware view).
 */
import type { ConfigEventRecord, FunctionSecurityView } from '../events.ts';

/** IDE stream state as the Selective IDE Stream Status register shows it. */
export type IdeStreamState = 'Secure' | 'Insecure';

/** A T-bit decision for one MMIO access: completed, or Unsupported Request. */
export type TeeAccessResult = 'ok' | 'UR';

/**
 * The policy the hardware model asks on every BAR access and DMA (the DSM installs it):
 * PCIe 6.x section 11.2 "TDI rules for T=1 / T=0 traffic".
 */
export interface TeePolicy {
  /** May this MMIO access (T bit as given) to `bar` at byte `offset` complete? */
  mmio(
    fn: number,
    bar: number,
    offset: bigint | number,
    t: boolean,
    write: boolean,
  ): TeeAccessResult;
  /** Does the function's DMA engine set T=1 on its requests now? */
  dmaT(fn: number): boolean;
  /** LOCK_MSIX holds the function's MSI-X table, PBA and control (the LockRecord's fact). */
  msixLocked(fn: number): boolean;
  /** Every key of the stream is started (the IDE_KM state's fact); the link may still be down. */
  streamSecure(streamId: number): boolean;
}

/** The DSM's window onto the device hardware. */
export interface DsmHardware {
  /** Function numbers that are assignable TDIs (PFs and enabled VFs), as the device is now. */
  tdiFunctions(): number[];
  /** The live security view of one function; undefined when it does not exist (a disabled VF). */
  securityView(fn: number): FunctionSecurityView | undefined;
  /** Subscribes to the config-space ERROR triggers; delivered after the access completed. */
  onSecurityEvent(listener: (record: ConfigEventRecord) => void): unknown;
  /**
   * The DSM took a stream out of Secure (K_SET_STOP, its session ended): the hardware,
   * which shows the DSM's stream state through the policy, reports it as it would any
   * stream loss. Absent: nothing to report to.
   */
  streamLeftSecure?(streamId: number): void;
  /** Zeroes the function's device memory (STOP_INTERFACE scrub). */
  scrub(fn: number): void;
  /** Installs the T-bit policy (absent on hardware without TEE data paths). */
  setTeePolicy?(policy: TeePolicy): void;
  /**
   * The IDE Extended Capability registers QUERY_RESP carries for `portIndex` (IDE
   * Capability, IDE Control, then the Link and Selective stream blocks), or undefined when
   * the port does not exist. Absent: the DSM uses `defaultIdeRegisters`.
   */
  ideRegisters?(portIndex: number): number[] | undefined;
  /** Routing id of the function hosting the DSM (function 0), for QUERY_RESP. */
  dsmRequesterId?(): number;
}

/** The hardware facts a DSM transition reads, captured as plain data before it runs. */
export interface HwView {
  /** Security views of the assignable TDI functions present now, in tdiFunctions order. */
  tdis: FunctionSecurityView[];
  /**
   * IDE register blocks by port index (absent index: no such port); undefined when the
   * hardware offers none (QUERY_RESP then uses `defaultIdeRegisters`).
   */
  ideRegisters?: Record<number, number[]>;
  /** Routing id of the function hosting the DSM, for QUERY_RESP. */
  dsmRequesterId: number;
}

/**
 * Reads the view of `hw` a transition needs: every TDI's security view and the IDE
 * register blocks of ports 0..maxPortIndex.
 */
export function captureHwView(hw: DsmHardware, maxPortIndex: number): HwView {
  const tdis = hw.tdiFunctions().flatMap((fn) => {
    const v = hw.securityView(fn);
    return v === undefined ? [] : [v];
  });
  let ideRegisters: Record<number, number[]> | undefined;
  if (hw.ideRegisters) {
    ideRegisters = {};
    for (let p = 0; p <= maxPortIndex; p++) {
      const regs = hw.ideRegisters(p);
      if (regs !== undefined) ideRegisters[p] = regs;
    }
  }
  const dsmRequesterId = hw.dsmRequesterId?.() ?? hw.securityView(0)?.requesterId ?? 0;
  return { tdis, ...(ideRegisters && { ideRegisters }), dsmRequesterId };
}

// IDE Capability register bits (PCIe 6.x 7.9.26.2) used by the default block.
const IDE_CAP_SELECTIVE_IDE_SUPPORTED = 1 << 1;
const IDE_CAP_IDE_KM_PROTOCOL_SUPPORTED = 1 << 6;

/**
 * The register block of a port with one Selective IDE stream and no address association
 * blocks, used until the hardware model provides its own: IDE Capability, IDE Control,
 * Selective IDE Stream Capability, Control, Status, RID Association 1 and 2.
 */
export function defaultIdeRegisters(): number[] {
  return [IDE_CAP_SELECTIVE_IDE_SUPPORTED | IDE_CAP_IDE_KM_PROTOCOL_SUPPORTED, 0, 0, 0, 0, 0, 0];
}
