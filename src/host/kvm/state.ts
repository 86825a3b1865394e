/** The host's KVM VMs by fd (virt/kvm); filled in by the kvm layer. */
export interface KvmState {
  vms: Map<number, unknown>;
}

export const createKvmState = (): KvmState => ({ vms: new Map() });
