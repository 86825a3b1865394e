/**
 * The zod schema for a device profile written by hand in YAML or JSON: sizes as numbers
 * or strings ("64KiB", "16GiB", "0x4000"), ids as numbers or hex strings, flags such as
 * `ats: true` or `ats: { invalidateQueueDepth: 8 }`. Unknown keys are errors (a typo must
 * not silently drop a capability). Cross-field checks come from `profileProblems`, so a
 * file that parses here builds a device.
 */
import { z } from 'zod';
import { type DeviceProfile, profileProblems } from '../pci/profile.ts';

const UNITS: Record<string, bigint> = {
  '': 1n,
  k: 1n << 10n,
  kib: 1n << 10n,
  m: 1n << 20n,
  mib: 1n << 20n,
  g: 1n << 30n,
  gib: 1n << 30n,
  t: 1n << 40n,
  tib: 1n << 40n,
};

/** Bytes: 65536, "65536", "0x10000", "64KiB", "64K" (binary units). */
const size = z.union([z.number(), z.string(), z.bigint()]).transform((v, ctx): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  } else {
    const m = /^\s*(0x[0-9a-f]+|\d+)\s*([a-z]*)\s*$/i.exec(v);
    const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
    if (m && unit !== undefined) return BigInt(m[1]) * unit;
  }
  ctx.addIssue({
    code: 'custom',
    message: `not a size: ${String(v)} (use bytes, 0x hex or e.g. 64KiB)`,
  });
  return z.NEVER;
});

/** An unsigned integer of `bits` bits: a number or a "0x.." / decimal string. */
function uint(bits: number, min = 0) {
  const max = 2 ** bits - 1;
  return z.union([z.number(), z.string()]).transform((v, ctx): number => {
    const n =
      typeof v === 'number' ? v : /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `expected an integer in ${min}..${max}, got ${String(v)}`,
      });
      return z.NEVER;
    }
    return n;
  });
}

/** `true` for the defaults, an object for settings, `false` or absent for none. */
function feature<T extends z.ZodObject>(obj: T) {
  return z
    .union([z.boolean(), obj])
    .optional()
    .transform((v): z.output<T> | undefined =>
      v === true ? obj.parse({}) : v === false ? undefined : v,
    );
}

const bar = z.strictObject({
  index: uint(3).pipe(z.number().max(5)),
  size,
  is64: z.boolean().optional(),
  prefetchable: z.boolean().optional(),
  io: z.boolean().optional(),
});

const msix = z.strictObject({
  vectors: uint(12, 1).pipe(z.number().max(2048)),
  table: z.strictObject({ bar: uint(3).pipe(z.number().max(5)), offset: uint(32) }),
  pba: z.strictObject({ bar: uint(3).pipe(z.number().max(5)), offset: uint(32) }),
});

const common = {
  tdi: z.boolean().optional(),
  bars: z.array(bar).default([]),
  msix: msix.optional(),
  ats: feature(z.strictObject({ invalidateQueueDepth: uint(5).optional() })),
  pri: feature(z.strictObject({ outstandingRequests: uint(32).optional() })),
  pasid: feature(
    z.strictObject({
      width: uint(5).pipe(z.number().max(20)).optional(),
      exec: z.boolean().optional(),
      priv: z.boolean().optional(),
    }),
  ),
  ari: z.boolean().optional(),
  tph: z.boolean().optional(),
  lnr: z.boolean().optional(),
  // Hex text in files; built-in profiles give the bytes themselves.
  deviceSpecificInfo: z
    .union([
      z
        .string()
        .regex(/^([0-9a-f]{2})*$/i, 'hex bytes, e.g. "0102ff"')
        .transform((h) => new Uint8Array(Buffer.from(h, 'hex'))),
      z.instanceof(Uint8Array),
    ])
    .optional(),
  nonTee: z
    .array(z.strictObject({ bar: uint(3).pipe(z.number().max(5)), offset: size, size }))
    .optional(),
};

const vf = z.strictObject(common);

const fn = z.strictObject({
  ...common,
  fn: uint(8),
  deviceId: uint(16).optional(),
  classCode: uint(24).optional(),
  rom: z.strictObject({ size }).optional(),
  bist: z.boolean().optional(),
  flr: z.boolean().optional(),
  noSoftReset: z.boolean().optional(),
  resizableBar: z
    .array(z.strictObject({ bar: uint(3).pipe(z.number().max(5)), sizes: z.array(size).min(1) }))
    .optional(),
  sriov: z
    .strictObject({
      totalVfs: uint(16, 1),
      initialVfs: uint(16).optional(),
      firstVfOffset: uint(16, 1),
      vfStride: uint(16, 1),
      vfDeviceId: uint(16),
      vf,
    })
    .optional(),
});

const dsm = z.strictObject({
  doe: z
    .strictObject({
      maxObjectDwords: uint(19, 3)
        .pipe(z.number().max(2 ** 18))
        .optional(),
      busyPolls: uint(16).optional(),
      interrupt: z.boolean().optional(),
    })
    .default({}),
  ide: z
    .strictObject({
      linkStreams: uint(4).pipe(z.number().max(8)).optional(),
      selectiveStreams: uint(9).pipe(z.number().max(256)).optional(),
      addressBlocks: uint(4).pipe(z.number().max(15)).optional(),
      teeLimited: z.boolean().optional(),
    })
    .optional(),
  cxlIde: z
    .strictObject({
      maxPortIndex: uint(8).optional(),
      ivGeneration: z.boolean().optional(),
      keyGeneration: z.boolean().optional(),
      kSetStop: z.boolean().optional(),
      containment: z.boolean().optional(),
    })
    .optional(),
  cxlTsp: z.strictObject({}).optional(),
});

export const deviceProfileSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    vendorId: uint(16).pipe(z.number().max(0xfffe)),
    deviceId: uint(16),
    revisionId: uint(8).optional(),
    classCode: uint(24),
    subsystemVendorId: uint(16).optional(),
    subsystemId: uint(16).optional(),
    teeIo: z.boolean().optional(),
    dsm: dsm.optional(),
    functions: z.array(fn).min(1),
  })
  .superRefine((p, ctx) => {
    for (const problem of profileProblems(p)) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    }
  });

// The schema's output must be a DeviceProfile (compile-time check).
const _isProfile = (p: z.output<typeof deviceProfileSchema>): DeviceProfile => p;
void _isProfile;
