/**
 * The emulated PCIe device hardware (PCIe 6.x chapters 6, 7, 9 and the TDISP hooks of 11):
 * build one from a profile with `createDevice`, drive it through config space and BARs.
 */
export type { BarState } from './bar.ts';
export type { StreamState } from './caps/ide.ts';
export { type CapEntry, walkCapabilities, walkExtCapabilities } from './config-space.ts';
export {
  createDevice,
  DEFAULT_TEE_POLICY,
  type DeviceOptions,
  type DmaResult,
  type MmioReadResult,
  type MmioRefusal,
  type MmioWriteResult,
  PciDevice,
  type TeePolicy,
  type UpstreamPort,
} from './device.ts';
export { type HostPort, hostPort, type InternalPort, internalPort } from './ports.ts';
export type {
  BarProfile,
  DeviceProfile,
  DsmProfile,
  FunctionProfile,
  MsixProfile,
  NonTeeRange,
  ProfileProblem,
  SriovProfile,
  VfProfile,
} from './profile.ts';
export { profileProblems } from './profile.ts';
export * as regs from './regs.ts';
export type { DeviceState, DoeHandler } from './state.ts';
