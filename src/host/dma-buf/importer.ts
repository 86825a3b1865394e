/**
 * What an exporter calls on a dma-buf's importers (dma_buf_attach_ops.move_notify): KVM's
 * dma-buf memslots are the importers this model has. Kept apart so the dma-buf core and KVM
 * do not import each other.
 */
import type { HostMachine } from '../machine.ts';
import type { HostOutcome } from '../outcome.ts';
import type { HostState } from '../state.ts';
import type { DmaBufImporter } from './state.ts';

export type MoveNotify = (
  m: HostMachine,
  h: HostState,
  importer: DmaBufImporter,
) => Promise<HostOutcome>;
