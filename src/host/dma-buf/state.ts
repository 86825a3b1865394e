/** The host's exported dma-bufs by fd (drivers/dma-buf); filled in by the dma-buf layer. */
export interface DmaBufState {
  bufs: Map<number, unknown>;
}

export const createDmaBufState = (): DmaBufState => ({ bufs: new Map() });
