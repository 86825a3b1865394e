/**
 * A stand-in for the DSM in hardware-only tests: it owns the facts the real DSM owns
 * (which IDE streams are keyed, which functions have LOCK_MSIX in force), hands them to
 * the device as its policy over the internal port, reports a stream it stops, and drops a
 * stream's keys on IDE_STREAM_INSECURE, as dsm/triggers.ts does.
 */
import { DEFAULT_TEE_POLICY, type PciDevice } from '../../../src/device/pci/device.ts';
import { internalPort } from '../../../src/device/pci/ports.ts';

export interface DsmStandIn {
  setStreamState(streamId: number, state: 'Secure' | 'Insecure'): void;
  lockMsix(fn: number, locked: boolean): void;
}

export function dsmStandIn(dev: PciDevice): DsmStandIn {
  const port = internalPort(dev);
  const keyed = new Set<number>();
  const msix = new Set<number>();
  port.setTeePolicy({
    ...DEFAULT_TEE_POLICY,
    msixLocked: (fn) => msix.has(fn),
    streamSecure: (id) => keyed.has(id),
  });
  port.onSecurityEvent((r) => {
    if (r.event.kind === 'IDE_STREAM_INSECURE') keyed.delete(r.event.streamId);
  });
  return {
    setStreamState(streamId, state) {
      if (state === 'Secure') keyed.add(streamId);
      else if (keyed.delete(streamId)) port.streamLeftSecure(streamId);
    },
    lockMsix(fn, locked) {
      if (locked) msix.add(fn);
      else msix.delete(fn);
    },
  };
}
