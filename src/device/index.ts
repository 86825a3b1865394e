/**
 * device/: the emulated TDISP device: the PCIe hardware model (pci/), profiles (profiles/)
 * and the Device Security Manager (dsm/); the sub-folders' own index files hold the rest.
 * world/tdisp-device.ts composes them with an SPDM responder and the transports.
 */
export { BEHAVIOURS, type BehaviourName, Dsm, type DsmConfig, type DsmEvent } from './dsm/index.ts';
export type { BarView, ConfigSecurityEvent, FunctionSecurityView } from './events.ts';
export { enumerateDevice } from './pci/enumerate.ts';
export { createDevice, type DeviceProfile, PciDevice } from './pci/index.ts';
export { builtinProfiles, loadProfile, ProfileError, resolveProfile } from './profiles/index.ts';
