/**
 * The trace file format teeio-trace/1 as a schema (docs/trace.md is its prose): the header,
 * and each record kind with the fields a reader may rely on. Records are as traceRecordJson
 * writes them: bytes as lower-case hex, bigints as '0x' strings. Each schema lists the
 * documented fields and lets others pass: a writer may add fields within a version, never
 * remove or retype one. What a reader can count on is what `traceFileSchema` accepts.
 */
import { z } from 'zod';
import { TRACE_FORMAT } from './trace-file.ts';

const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'lower-case hex bytes');
/** A firmware or uAPI argument: a string (bigints as '0x...'), a number or a boolean. */
const arg = z.union([z.string(), z.number(), z.boolean()]);
const args = z.record(z.string(), arg);
const domain = z.enum(['tsm', 'device', 'host', 'guest']);

/** One schema per record kind, by kind. */
export const RECORD_SCHEMAS = {
  step: z.looseObject({ kind: z.literal('step'), title: z.string() }),
  spdm: z.looseObject({
    kind: z.literal('spdm'),
    domain: z.literal('tsm'),
    direction: z.enum(['to-device', 'from-device']),
    sessionId: z.number().int().optional(),
    bytes: hex,
    description: z.looseObject({
      protocol: z.string(),
      name: z.string(),
      detail: z.string(),
      malformed: z.string().optional(),
    }),
  }),
  dsm: z.looseObject({
    kind: z.literal('dsm'),
    domain: z.literal('device'),
    event: z.looseObject({ kind: z.string() }),
  }),
  access: z.looseObject({
    kind: z.literal('access'),
    domain: z.enum(['host', 'guest']),
    action: z.string(),
    result: z.string(),
  }),
  platform: z.looseObject({
    kind: z.literal('platform'),
    domain,
    event: z.looseObject({ kind: z.string() }),
  }),
  abi: z.looseObject({
    kind: z.literal('abi'),
    domain: z.enum(['host', 'guest']),
    event: z.looseObject({
      kind: z.literal('abi'),
      domain: z.enum(['host', 'guest']),
      flavour: z.string(),
      call: z.string(),
      args,
      status: z.string(),
      ok: z.boolean(),
      detail: z.string().optional(),
    }),
  }),
  uapi: z.looseObject({
    kind: z.literal('uapi'),
    domain: z.literal('host'),
    event: z.looseObject({
      kind: z.literal('uapi'),
      layer: z.enum(['pci-tsm', 'vfio', 'dma-buf', 'iommufd', 'kvm', 'vmm']),
      op: z.string(),
      args,
      ok: z.boolean(),
      errno: z.string().optional(),
      detail: z.string().optional(),
    }),
  }),
  guest: z.looseObject({
    kind: z.literal('guest'),
    domain: z.literal('guest'),
    event: z.looseObject({
      kind: z.literal('guest'),
      op: z.string(),
      args,
      ok: z.boolean(),
      errno: z.string().optional(),
      detail: z.string().optional(),
      vm: z.string().optional(),
    }),
  }),
  check: z.looseObject({
    kind: z.literal('check'),
    name: z.string(),
    ok: z.boolean(),
    detail: z.string(),
  }),
  violation: z.looseObject({
    kind: z.literal('violation'),
    invariant: z.string().regex(/^I\d+$/),
    name: z.string(),
    component: z.string(),
    detail: z.string(),
    step: z.number().int().min(0),
  }),
} as const;

export type RecordKind = keyof typeof RECORD_SCHEMAS;
export const RECORD_KINDS = Object.keys(RECORD_SCHEMAS) as RecordKind[];

/** A record of any documented kind. */
export const recordSchema = z.discriminatedUnion(
  'kind',
  Object.values(RECORD_SCHEMAS) as unknown as [
    (typeof RECORD_SCHEMAS)[RecordKind],
    ...(typeof RECORD_SCHEMAS)[RecordKind][],
  ],
);

/** A whole trace file as `teeio run --trace` and `teeio demo --trace` write it. */
export const traceFileSchema = z.strictObject({
  format: z.literal(TRACE_FORMAT),
  source: z.string().optional(),
  records: z.array(recordSchema),
});
