/** The VMM (QEMU's part of confidential device assignment) over the host kernel's uAPI. */
export { vmmAssignDevice, vmmReleaseDevice } from './device.ts';
export {
  carryTsmCall,
  type VmmHypercall,
  type VmmHypercallResult,
  vmmHypercall,
} from './hypercall.ts';
export {
  RELAY_MODES,
  type RelayedCall,
  type RelayMode,
  relayOf,
  type VmmRelay,
  vmmRelaySet,
} from './relay.ts';
export {
  createVmmState,
  VMM_MMIO_BASE,
  type VmmBar,
  type VmmDevice,
  type VmmState,
  type VmmVm,
} from './state.ts';
export { vmmCreateVm, vmmDestroyVm, vmmFinalizeVm, vmmRun } from './vm.ts';
