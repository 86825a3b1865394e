/** Device profiles as data: the built-in NIC, GPU and NVMe, and users' own YAML/JSON files. */
export { gpu } from './gpu.ts';
export {
  builtinProfiles,
  loadProfile,
  ProfileError,
  parseProfile,
  resolveProfile,
} from './load.ts';
export { nic } from './nic.ts';
export { nvme } from './nvme.ts';
export { deviceProfileSchema } from './schema.ts';
export { SPDM_EMU_BUS, spdmEmu } from './spdm-emu.ts';
