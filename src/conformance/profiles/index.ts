/** The profiles `--profile` knows, by name. */
import type { Profile } from './profile.ts';
import { SPDM_EMU_PROFILE } from './spdm-emu.ts';

export { applyProfile, type Deviation, deviationOf, type Profile } from './profile.ts';

export const PROFILES: Readonly<Record<string, Profile>> = {
  [SPDM_EMU_PROFILE.name]: SPDM_EMU_PROFILE,
};
