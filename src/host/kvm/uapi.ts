/**
 * KVM's uAPI constants this model uses (include/uapi/linux/kvm.h; KVM_MEM_VFIO_DMABUF from the
 * TEE-IO RFC, SYSTEM.md section 3 "KVM"), under their kernel names.
 */

/** struct kvm_userspace_memory_region2.flags */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;
export const KVM_MEM_GUEST_MEMFD = 1 << 2;
/** RFC: the slot's pages are a VFIO dma-buf, its fd in the guest_memfd field. */
export const KVM_MEM_VFIO_DMABUF = 1 << 3;

/** struct kvm_memory_attributes.attributes */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;

/** struct kvm_run.memory_fault.flags */
export const KVM_MEMORY_EXIT_FLAG_PRIVATE = 1 << 3;

/** Memslot ids userspace may use (x86: KVM_MEM_SLOTS_NUM 32767 less 3 internal slots). */
export const KVM_USER_MEM_SLOTS = 32764;
