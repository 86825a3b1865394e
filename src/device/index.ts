/**
 * device/: the emulated TDISP device. `createTdispDevice` composes the PCIe hardware model
 * (pci/), a profile (profiles/), the Device Security Manager (dsm/) and an SPDM responder on
 * function 0's DOE mailbox; the sub-folders' own index files hold the rest.
 */
export { BEHAVIOURS, type BehaviourName, Dsm, type DsmConfig, type DsmEvent } from './dsm/index.ts';
export type { BarView, ConfigSecurityEvent, FunctionSecurityView } from './events.ts';
export { createDevice, type DeviceProfile, PciDevice } from './pci/index.ts';
export { builtinProfiles, loadProfile, ProfileError, resolveProfile } from './profiles/index.ts';
export {
  createTdispDevice,
  type DeviceIdentity,
  enumerateDevice,
  profileMeasurements,
  type TdiInfo,
  type TdispDevice,
  type TdispDeviceOptions,
} from './tdisp-device.ts';
