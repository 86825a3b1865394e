/** The host's VFIO device files by fd (drivers/vfio/pci); filled in by the vfio layer. */
export interface VfioState {
  devices: Map<number, unknown>;
}

export const createVfioState = (): VfioState => ({ devices: new Map() });
