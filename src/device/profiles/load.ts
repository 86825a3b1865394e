/**
 * Reading a user's device profile from a YAML or JSON file (YAML 1.2 reads both), and
 * resolving the `--profile nic|gpu|nvme|FILE` argument.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { DeviceProfile, ProfileProblem } from '../pci/profile.ts';
import { gpu } from './gpu.ts';
import { nic } from './nic.ts';
import { nvme } from './nvme.ts';
import { deviceProfileSchema } from './schema.ts';
import { spdmEmu } from './spdm-emu.ts';

export const builtinProfiles: Readonly<Record<'nic' | 'gpu' | 'nvme' | 'spdm-emu', DeviceProfile>> =
  {
    nic,
    gpu,
    nvme,
    'spdm-emu': spdmEmu,
  };

/** A profile that failed to load: every problem with the path of the field it concerns. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(
    readonly source: string,
    readonly problems: ProfileProblem[],
  ) {
    super(
      `${source}: invalid device profile\n${problems
        .map((p) => `  ${p.path.length ? p.path.join('.') : '(top)'}: ${p.message}`)
        .join('\n')}`,
    );
  }
}

/** Validates already-parsed data (e.g. from JSON). Throws ProfileError naming each bad field. */
export function parseProfile(data: unknown, source = 'profile'): DeviceProfile {
  const r = deviceProfileSchema.safeParse(data);
  if (r.success) return r.data;
  throw new ProfileError(
    source,
    r.error.issues.map((i) => ({
      path: i.path.map((k) => (typeof k === 'symbol' ? String(k) : k)),
      message: i.message,
    })),
  );
}

/** Reads and validates a YAML or JSON profile file. Throws ProfileError (bad content or syntax) or the fs error. */
export function loadProfile(path: string): DeviceProfile {
  const text = readFileSync(path, 'utf8');
  let data: unknown;
  try {
    data = parseYaml(text, { intAsBigInt: false });
  } catch (e) {
    throw new ProfileError(path, [
      { path: [], message: e instanceof Error ? e.message : String(e) },
    ]);
  }
  return parseProfile(data, path);
}

/** A built-in profile by name, otherwise a file path. Throws like `loadProfile`. */
export function resolveProfile(nameOrPath: string): DeviceProfile {
  if (Object.hasOwn(builtinProfiles, nameOrPath)) {
    return builtinProfiles[nameOrPath as keyof typeof builtinProfiles];
  }
  return loadProfile(nameOrPath);
}
