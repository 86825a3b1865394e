/**
 * KVM as a dma-buf importer (KVM_MEM_VFIO_DMABUF slots): move_notify zaps the slot's range.
 * PLACEHOLDER until the KVM layer lands: the KVM layer replaces this file.
 */
import type { MoveNotify } from '../dma-buf/importer.ts';
import { hostErr } from '../outcome.ts';

export const kvmMoveNotify: MoveNotify = async (_m, _h, importer) =>
  hostErr(
    'kvm',
    'kvm_dmabuf_move_notify',
    { vmFd: importer.vmFd ?? -1 },
    'EOPNOTSUPP',
    'not written',
  );
