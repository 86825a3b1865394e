/** KVM's uAPI as the VMM uses it, and the guest fault the world drives. */
export { kvmSetMemoryAttributes } from './attributes.ts';
export { kvmMoveNotify } from './dmabuf-slot.ts';
export { type KvmFaultResult, kvmFault } from './fault.ts';
export { kvmCreateGuestMemfd } from './guest-memfd.ts';
export { kvmSetUserMemoryRegion2, type UserMemoryRegion2 } from './memslot.ts';
export * from './uapi.ts';
export { kvmCreateVm, kvmDestroyVm, kvmFinalizeVm } from './vm.ts';
