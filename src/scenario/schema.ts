/**
 * The scenario file format (docs/scenarios.md): a world (flavour, device, VMs with the
 * devices they get and the role VFIO plays, design switches, seed) and the steps that run
 * in it, each naming an actor's operation by its real name and what it must come to.
 */
import { z } from 'zod';
import { FLAW_NAMES } from '../world/flaws.ts';

export const SCENARIO_FORMAT = 'teeio-scenario/1';

/**
 * What a refusal is named by: the kernel's errno (EBUSY), the firmware's own status for a raw
 * host-ABI call (TDX_OPERAND_BUSY, RMI_ERROR_INPUT), or what the guest's driver observed
 * (all-ones, faulted, realm-killed).
 */
const errnoName = z
  .string()
  .regex(
    /^([A-Z][A-Z0-9_]+|[a-z]+(-[a-z]+)*)$/,
    'an errno (EBUSY), a firmware status (TDX_OPERAND_BUSY) or a guest observation (all-ones)',
  );
const tdiState = z.enum(['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'RUN', 'ERROR']);
const invariantId = z
  .string()
  .regex(/^I\d+$/, "an invariant of SYSTEM.md section 5 (I1..I13) or teeio's own (I14, I15)");

/** What a step must come to; absent fields are not checked, absent `expect` means `ok: true`. */
export const expectSchema = z.strictObject({
  ok: z.boolean().optional(),
  errno: errnoName.optional(),
  /** A firmware status or a verifier reason the step's detail must contain. */
  reason: z.string().optional(),
  /** The device's own state of the step's TDI afterwards. */
  tdi: tdiState.optional(),
  /** Invariants this step must break (a scenario that shows a flaw); others must hold. */
  violates: z.array(invariantId).optional(),
});

export const stepSchema = z.strictObject({
  /** The operation, 'actor.name': 'host.tsm/connect', 'vmm.assign', 'guest.tsm/lock', ... */
  do: z.string().regex(/^[a-z-]+\.[A-Za-z0-9_/.-]+$/, "'actor.operation', e.g. host.tsm/connect"),
  /** The VM the step concerns (its guest, or the VMM's VM); default: the first VM. */
  vm: z.string().optional(),
  /** The TDI by function number; default: the VM's first device. */
  tdi: z.number().int().min(0).max(255).optional(),
  args: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Why the step is there, printed with it. */
  note: z.string().optional(),
  expect: expectSchema.optional(),
});

export const switchesSchema = z.strictObject({
  bindUapi: z.enum(['vfio', 'vdevice']).optional(),
  resetWhileBound: z.enum(['unbind', 'refuse']).optional(),
  regionClaim: z.enum(['open', 'bind']).optional(),
  dmaBufPfns: z.enum(['sg-table', 'phys-vec']).optional(),
  unbindOrder: z.enum(['stop-first', 'revoke-first']).optional(),
  bareMetal: z.enum(['refuse', 'host-context']).optional(),
  bindTime: z.enum(['late', 'early']).optional(),
  preLockReset: z.enum(['none', 'flr']).optional(),
  droppedDma: z.enum(['silent', 'report']).optional(),
  msixTable: z.enum(['shared', 'private']).optional(),
  dmaTable: z.enum(['shared', 'mirrored']).optional(),
});

export const vmSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a lower-case name such as td1'),
  /** Guest RAM in 4 KiB pages. */
  ramPages: z.number().int().min(16).max(65536).optional(),
  devices: z
    .array(
      z.strictObject({
        tdi: z.number().int().min(0).max(255),
        /** Who takes the device to RUN in the guest (SYSTEM.md section 1, VFIO's roles). */
        role: z.enum(['guest-kernel', 'vfio-attester', 'vfio-user']).optional(),
      }),
    )
    .optional(),
});

export const scenarioSchema = z.strictObject({
  teeio: z.literal(SCENARIO_FORMAT),
  name: z.string().min(1),
  description: z.string().optional(),
  world: z.strictObject({
    flavour: z.enum(['tdx', 'sev', 'cca']),
    seed: z.string().optional(),
    /** A built-in device profile name or a profile file. */
    profile: z.string().optional(),
    switches: switchesSchema.optional(),
    vms: z.array(vmSchema).optional(),
    /** The guests' attestation policy file (docs/policy.md); default: trust the device's root. */
    policy: z.string().optional(),
    /** Seeded flaws switched on (`teeio explore --list-flaws`). */
    flaws: z.array(z.enum(FLAW_NAMES as [string, ...string[]])).optional(),
  }),
  steps: z.array(stepSchema).min(1),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioStep = z.output<typeof stepSchema>;
export type StepExpect = z.output<typeof expectSchema>;
export type ScenarioSwitches = z.output<typeof switchesSchema>;
