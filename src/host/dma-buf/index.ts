/** The dma-buf core as importers call it; the exporter's revoke and restore are VFIO's. */
export {
  dmaBufAttach,
  dmaBufDetach,
  dmaBufKvmPfns,
  dmaBufMapAttachment,
  dmaBufMmap,
  dmaBufUnmapAttachment,
} from './core.ts';
