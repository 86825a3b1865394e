/**
 * host/: the untrusted host kernel, one namespace per subsystem as the kernel tree names it.
 * Every operation is `op(machine, state, args) -> HostOutcome` over plain-data HostState.
 */
export * as dmaBuf from './dma-buf/index.ts';
export { ERRNO, type Errno } from './errno.ts';
export * as iommufd from './iommufd/index.ts';
export * as kvm from './kvm/index.ts';
export type { FirmwareArgs, HostMachine } from './machine.ts';
export type { HostEvent, HostLayer, HostOutcome, UapiEvent } from './outcome.ts';
export {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmDisconnect,
  pciTsmGuestReq,
  pciTsmStop,
  pciTsmUnbind,
} from './pci-tsm/core.ts';
export { createHostState, type HostState } from './state.ts';
export { DEFAULT_HOST_SWITCHES, type HostSwitches } from './switches.ts';
export { tsmDriver } from './tsm/index.ts';
export * as vfio from './vfio/index.ts';
