/**
 * What the Device Security Manager needs from the PCIe function model (device/pci/), and
 * what it tells it: PCIe 6.x section 11.2 (TDISP rules the DSM enforces through the
 * hardware) and section 6.33 (IDE stream state shown in the IDE Extended Capability).
 *
 * The DSM only ever reaches the hardware through this interface, so the same DSM runs on
 * the real device model, on a test double, or on a user's own model.
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
}

/** The DSM's window onto the device hardware. */
export interface DsmHardware {
  /** Function numbers that are assignable TDIs (PFs and enabled VFs), as the device is now. */
  tdiFunctions(): number[];
  /** The live security view of one function; undefined when it does not exist (a disabled VF). */
  securityView(fn: number): FunctionSecurityView | undefined;
  /** Subscribes to the config-space ERROR triggers; delivered after the access completed. */
  onSecurityEvent(listener: (record: ConfigEventRecord) => void): unknown;
  /** Shows a Selective IDE stream as Secure or Insecure in the IDE capability. */
  setStreamState(streamId: number, state: IdeStreamState): void;
  /** Locks (LOCK_MSIX) or unlocks the function's MSI-X table, PBA and control. */
  lockMsix(fn: number, locked: boolean): void;
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
