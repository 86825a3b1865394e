/**
 * All the hardware of one platform as plain data (DESIGN.md principle 2): host memory and its
 * page owners, the IOMMU, each confidential VM's secure EPT and shared EPT, the root port's IDE
 * streams and the fabric's BAR routing. structuredClone copies it and world/hash.ts hashes it;
 * devices are not in it (the fabric reaches them through a bus of HostPorts).
 */

import type { FabricState } from './fabric.ts';
import type { VmId } from './ids.ts';
import { createIommu, type IommuState } from './iommu.ts';
import { createMemory, type MemoryRange, type MemoryState } from './memory.ts';
import { createRootPort, type RootPortState } from './root-port.ts';
import type { SeptState } from './sept.ts';
import type { SharedEpts } from './shared-ept.ts';
import type { DmaTable } from './switches.ts';

export interface PlatformHw {
  memory: MemoryState;
  iommu: IommuState;
  /** Each confidential VM's secure EPT (the TSM creates them). */
  septs: Map<VmId, SeptState>;
  rootPort: RootPortState;
  fabric: FabricState;
  sharedEpts: SharedEpts;
}

export interface PlatformHwConfig {
  /** Host physical memory (default: 64 MiB at 0x1_0000_0000). */
  memory?: MemoryRange[];
  /**
   * The GPA bit that marks a shared guest address (default 47: TDX with a 48-bit GPA width;
   * 51 with 5-level EPT).
   */
  sharedGpaBit?: number;
  /** Where the IOMMU translates T=1 DMA (switch dmaTable; default 'shared'). */
  dmaTable?: DmaTable;
}

export const DEFAULT_MEMORY: readonly MemoryRange[] = [{ base: 0x1_0000_0000n, size: 64n << 20n }];

/** @throws RangeError for a bad memory layout or a shared bit outside 12..63 (configuration). */
export function createPlatformHw(config: PlatformHwConfig = {}): PlatformHw {
  const bit = config.sharedGpaBit ?? 47;
  if (!Number.isInteger(bit) || bit < 12 || bit > 63) throw new RangeError(`shared GPA bit ${bit}`);
  return {
    memory: createMemory(config.memory ?? DEFAULT_MEMORY),
    iommu: createIommu(config.dmaTable),
    septs: new Map(),
    rootPort: createRootPort(),
    fabric: { bars: new Map(), sharedGpaMask: 1n << BigInt(bit) },
    sharedEpts: new Map(),
  };
}
