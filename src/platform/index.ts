/**
 * platform/: the hardware the trusted firmware and the untrusted host both touch (memory with
 * private and shared pages, the IOMMU, each VM's secure and shared EPT, the root port's IDE
 * streams, the PCIe fabric) as plain data and functions over it. The TSM's own modules are
 * under tsm/; the trusted DMA contexts (iommu-secure.ts) are deliberately not exported here,
 * so the host cannot reach them through the platform's front door.
 */
export type * from './events.ts';
export {
  type BarRoute,
  type Bus,
  barAt,
  type DmaReadRequest,
  type DmaWriteRequest,
  type FabricState,
  type FabricViews,
  fabricAddBar,
  fabricDmaRead,
  fabricDmaWrite,
  fabricRemoveBar,
  fabricUpstream,
  guestMmioRead,
  guestMmioWrite,
  hostMmioRead,
  hostMmioWrite,
  type MmioAccess,
  privateMmioOwner,
} from './fabric.ts';
export {
  addressOf,
  busOf,
  PAGE_SHIFT,
  PAGE_SIZE,
  pageOffset,
  pfnOf,
  type Rid,
  type VmId,
} from './ids.ts';
export {
  createIommu,
  type IommuError,
  type IommuMapping,
  type IommuState,
  iommuAttach,
  iommuDetach,
  iommuDomainAlloc,
  iommuMap,
  iommuUnmap,
  type SecureDmaContext,
} from './iommu.ts';
export {
  assignFirmware,
  assignPrivate,
  createMemory,
  type MemoryError,
  type MemoryRange,
  type MemoryState,
  ownerOf,
  type PageOwner,
  readPhys,
  releaseToShared,
  writePhys,
} from './memory.ts';
export type { OpResult, Outcome, Refusal } from './result.ts';
export {
  createRootPort,
  type KeySlot,
  type RootPortError,
  type RootPortState,
  type RootPortStream,
  rootPortAssociate,
  rootPortDissociate,
  rootPortKeyProg,
  rootPortKeySetGo,
  rootPortKeySetStop,
  rootPortStreamState,
} from './root-port.ts';
export {
  createSept,
  type SeptEntry,
  type SeptEntryState,
  type SeptError,
  type SeptFault,
  type SeptState,
  type SeptTarget,
  type SeptTranslation,
  septAccept,
  septAdd,
  septBlock,
  septFinalize,
  septForget,
  septRemove,
  septTrack,
  septTranslate,
  septWalk,
} from './sept.ts';
export { type SharedEpts, sharedEptMap, sharedEptUnmap } from './shared-ept.ts';
export {
  createPlatformHw,
  DEFAULT_MEMORY,
  type PlatformHw,
  type PlatformHwConfig,
} from './state.ts';
export {
  DEFAULT_PLATFORM_SWITCHES,
  type MsixTable,
  msixTableOf,
  PLATFORM_SWITCH_KEYS,
  type PlatformSwitches,
} from './switches.ts';
