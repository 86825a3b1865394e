/**
 * The guest's attestation policy (docs/policy.md): the file form as a zod schema (unknown
 * keys are errors: a misspelt requirement must not silently vanish) and the resolved form
 * the verifier reads, with trust anchors as DER.
 */
import { z } from 'zod';
import type { LeafRequirements } from '../../crypto/cert-verify.ts';
import { HASH_SIZE, type HashAlg } from '../../crypto/hash.ts';
import { LOCK_INTERFACE_FLAGS } from '../../wire/tdisp/constants.ts';
import type { InterfaceInfo, MmioRangeAttributes } from '../../wire/tdisp/report.ts';
import type { TdiStateName } from './evidence.ts';

export type LockFlagName = keyof typeof LOCK_INTERFACE_FLAGS;
export type InterfaceInfoFlag = Exclude<keyof InterfaceInfo, 'other'>;

/** A reference value for one measurement block. */
export interface ReferenceMeasurement {
  index: number;
  /** DMTFSpecMeasurementValueType the block must carry, when given. */
  valueType?: number;
  /** The expected digest under `hash` (a raw block is hashed to compare). */
  digest?: { hash: HashAlg; value: Uint8Array };
  /** The expected raw bit stream. */
  raw?: Uint8Array;
}

export type RangeAttributeName = Exclude<keyof MmioRangeAttributes, 'other'>;

/** Values of the locked configuration the report must show, each only when given. */
export interface ReportReference {
  msixMessageControl?: number;
  lnrControl?: number;
  tphControl?: number;
  deviceSpecificInfo?: Uint8Array;
  /** The ranges in report order: exactly these attribute bits set on each. */
  ranges?: { attributes: RangeAttributeName[] }[];
}

export interface AttestationPolicy {
  /** Trusted root certificates, DER. */
  trustAnchors: Uint8Array[];
  leaf: LeafRequirements;
  measurements: { reference: ReferenceMeasurement[]; allowUnlisted: boolean };
  report: {
    /** INTERFACE_INFO bits the report must have with these values. */
    interfaceInfo: Partial<Record<InterfaceInfoFlag, boolean>>;
    lockFlags: { required: LockFlagName[]; forbidden: LockFlagName[] };
    /** Pages of a BAR the report leaves out are not a mismatch. */
    allowHoles: boolean;
    reference: ReportReference;
    /** Refuse when the firmware reported a device firmware update after LOCK. */
    refuseFirmwareUpdate: boolean;
  };
  /** States the TDI may be in (invariant 12: not before CONFIG_LOCKED). */
  states: TdiStateName[];
}

const hex = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{2})*$/, 'not hex: an even number of hex digits')
  .transform((s) => new Uint8Array(Buffer.from(s, 'hex')));
const hashAlg = z.enum(Object.keys(HASH_SIZE) as [HashAlg, ...HashAlg[]]);
const lockFlag = z.enum(Object.keys(LOCK_INTERFACE_FLAGS) as [LockFlagName, ...LockFlagName[]]);
const infoFlags: InterfaceInfoFlag[] = [
  'noUpdateAfterLock',
  'dmaWithoutPasid',
  'dmaWithPasid',
  'atsSupported',
  'prsSupported',
  'xtModeSupported',
];

/** A trust anchor as written: a PEM or DER file relative to the policy, or inline PEM. */
export const trustAnchorSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ pem: z.string().includes('-----BEGIN CERTIFICATE-----') }),
]);
export type TrustAnchorSource = z.output<typeof trustAnchorSchema>;

const referenceSchema = z
  .strictObject({
    index: z.number().int().min(1).max(0xfe),
    valueType: z.number().int().min(0).max(0x7f).optional(),
    hash: hashAlg.optional(),
    digest: hex.optional(),
    raw: hex.optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.digest === undefined) === (r.raw === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of digest or raw' });
    }
    if (r.digest !== undefined && r.hash === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hash'], message: 'a digest needs its hash' });
    }
    if (r.digest !== undefined && r.hash && r.digest.length !== HASH_SIZE[r.hash]) {
      ctx.addIssue({
        code: 'custom',
        path: ['digest'],
        message: `${r.digest.length} bytes, ${r.hash} digests are ${HASH_SIZE[r.hash]}`,
      });
    }
  })
  .transform((r): ReferenceMeasurement => {
    const out: ReferenceMeasurement = { index: r.index };
    if (r.valueType !== undefined) out.valueType = r.valueType;
    if (r.digest && r.hash) out.digest = { hash: r.hash, value: r.digest };
    if (r.raw) out.raw = r.raw;
    return out;
  });

/** The policy file as written (trust anchors not yet read). */
export const policyFileSchema = z.strictObject({
  trustAnchors: z.array(trustAnchorSchema).min(1),
  leaf: z
    .strictObject({
      spdmEku: z.enum(['responder', 'requester']).optional(),
      pcieSan: z.union([z.boolean(), z.string()]).optional(),
      deviceInfoSan: z.boolean().optional(),
      hardwareIdentity: z.boolean().optional(),
    })
    .default({}),
  measurements: z
    .strictObject({
      reference: z.array(referenceSchema).default([]),
      allowUnlisted: z.boolean().default(true),
    })
    .superRefine((m, ctx) => {
      const seen = new Set<number>();
      m.reference.forEach((r, i) => {
        if (seen.has(r.index)) {
          ctx.addIssue({ code: 'custom', path: ['reference', i, 'index'], message: 'repeated' });
        }
        seen.add(r.index);
      });
    })
    .default({ reference: [], allowUnlisted: true }),
  report: z
    .strictObject({
      interfaceInfo: z
        .strictObject(Object.fromEntries(infoFlags.map((f) => [f, z.boolean().optional()])))
        .default({}),
      lockFlags: z
        .strictObject({
          required: z.array(lockFlag).default([]),
          forbidden: z.array(lockFlag).default([]),
        })
        .default({ required: [], forbidden: [] }),
      allowHoles: z.boolean().default(false),
      reference: z
        .strictObject({
          msixMessageControl: z.number().int().min(0).max(0xffff).optional(),
          lnrControl: z.number().int().min(0).max(0xffff).optional(),
          tphControl: z.number().int().min(0).max(0xffffffff).optional(),
          deviceSpecificInfo: hex.optional(),
          ranges: z
            .array(
              z.strictObject({
                attributes: z.array(z.enum(['msixTable', 'msixPba', 'nonTee', 'updatable'])),
              }),
            )
            .optional(),
        })
        .default({}),
      refuseFirmwareUpdate: z.boolean().default(true),
    })
    .default({
      interfaceInfo: {},
      lockFlags: { required: [], forbidden: [] },
      allowHoles: false,
      reference: {},
      refuseFirmwareUpdate: true,
    }),
  states: z
    .array(z.enum(['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'RUN', 'ERROR']))
    .min(1)
    .default(['CONFIG_LOCKED']),
});
export type PolicyFile = z.output<typeof policyFileSchema>;
