/** The host's iommufd objects by id (drivers/iommu/iommufd); filled in by the iommufd layer. */
export interface IommufdState {
  objects: Map<number, unknown>;
}

export const createIommufdState = (): IommufdState => ({ objects: new Map() });
