/**
 * The contract between the PCIe function model (device/pci/) and the Device Security
 * Manager (device/dsm/): what the config space tells the DSM, and what the DSM reads
 * of a function to build its interface report. Mirrors PCIe 6.x chapter 11 (TDISP):
 * the events are the "ERROR triggers" of section 11.2.x, listed in SYSTEM.md section 2.
 */

/** A change that a LOCKED or RUN TDI must answer by moving to ERROR. */
export type ConfigSecurityEvent =
  | { kind: 'MSE_CLEAR' } // Command.Memory Space Enable cleared
  | { kind: 'BME_CLEAR' } // Command.Bus Master Enable cleared
  | { kind: 'BAR_WRITE'; bar: number }
  | { kind: 'EXPANSION_ROM_WRITE' }
  | { kind: 'BIST_WRITE' }
  | { kind: 'FLR'; fromPf: boolean } // Function Level Reset; fromPf: a PF FLR reaching its VF
  | { kind: 'REQUESTER_ID_CHANGE' }
  | { kind: 'IDE_STREAM_INSECURE'; streamId: number } // stream left Secure state, or link down
  | {
      kind: 'CAPABILITY_CHANGE';
      capability: 'PASID' | 'PRI' | 'ATS' | 'SRIOV' | 'RESIZABLE_BAR' | 'ARI' | 'TPH' | 'LNR';
    }
  | { kind: 'POWER_STATE_LOSS'; to: 'D3hot' | 'D3cold' }
  | { kind: 'MSIX_LOCKED_CHANGE' } // a write to an MSI-X table/PBA/control locked by LOCK_MSIX
  | { kind: 'SECURITY_CONFIG_CHANGE'; register: string }; // any other register LOCK snapshotted

export interface ConfigEventRecord {
  /** Function number (routing id within the device) the write hit. */
  fn: number;
  event: ConfigSecurityEvent;
}

/** A BAR as the function presents it now (after sizing and programming). */
export interface BarView {
  index: number;
  /** Programmed base address (CPU/bus address). */
  address: bigint;
  size: bigint;
  is64: boolean;
  prefetchable: boolean;
  /** Memory (true) or I/O (false). */
  memory: boolean;
}

/** What the DSM reads of one function to build DEVICE_INTERFACE_REPORT (PCIe 11.3.11). */
export interface FunctionSecurityView {
  fn: number;
  /** Bus/device/function routing id as currently configured. */
  requesterId: number;
  bars: BarView[];
  msix?: {
    tableBar: number;
    tableOffset: number;
    tableSize: number;
    pbaBar: number;
    pbaOffset: number;
    messageControl: number;
  };
  pasidEnabled: boolean;
  atsEnabled: boolean;
  prsEnabled: boolean;
  lnrControl: number;
  tphControl: number;
  /** Ranges of BARs that are not TEE memory (reported with the non-TEE attribute). */
  nonTeeRanges: Array<{ bar: number; offset: bigint; size: bigint }>;
  memorySpaceEnabled: boolean;
  busMasterEnabled: boolean;
  /** DEVICE_SPECIFIC_INFO bytes of the TDI report, from the profile (optional). */
  deviceSpecificInfo?: Uint8Array;
}
