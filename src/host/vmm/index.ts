/** The VMM (QEMU's part of confidential device assignment) over the host kernel's uAPI. */
export {
  type VmmHypercall,
  type VmmHypercallResult,
  vmmHypercall,
} from './hypercall.ts';
export { createVmmState, type VmmBar, type VmmDevice, type VmmState, type VmmVm } from './state.ts';
