/**
 * The seal of SNP guest messages (SEV-SNP Firmware ABI #56860, "Guest Messages": the
 * message header's MSG_SEQNO and AUTHTAG; Linux drivers/virt/coco/sev-guest enc_payload /
 * verify_and_dec_payload). The guest seals each request with its VMPCK (from its secrets
 * page, which the host never sees) under a per-message sequence number; the firmware opens
 * it only when the tag verifies and the number is the one after the last it used, and seals
 * its reply under the next number. The host relays both and can drop or replay them, but not
 * forge or alter them.
 *
 * Real messages are AES-256-GCM with the sequence number in the IV and the header as AAD.
 * The model keeps the fields in the clear and stands in for the GCM tag with HMAC-SHA-256,
 * keyed with the VMPCK, over a canonical encoding of the sequence number, the message type
 * and every field (a tag a party without the key cannot compute, and that changes with any
 * field): what the model needs of the seal is its authenticity, not its confidentiality.
 */
import { createHmac } from 'node:crypto';

/** A message's seal: its sequence number and its tag (hex). */
export interface MsgSeal {
  seq: number;
  tag: string;
}

/** The guest's reply as the firmware seals it: the message's own status and fields. */
export interface SealedReply {
  ok: boolean;
  status: string;
  value?: unknown;
  detail?: string;
  seal: MsgSeal;
}

/** Top-level names that are not part of the sealed body (the seal itself, the key's context). */
const NOT_SEALED = new Set(['gctx', 'seal', 'seq', 'tag']);

/**
 * A canonical text of `v`: keys sorted, bytes as hex, bigints marked, undefined left out;
 * at the top level, the names of NOT_SEALED too.
 */
export function canonical(v: unknown, skip: ReadonlySet<string> = NOT_SEALED): string {
  const inner = (x: unknown) => canonical(x, new Set());
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `h'${Buffer.from(v).toString('hex')}'`;
  if (Array.isArray(v)) return `[${v.map(inner).join(',')}]`;
  if (v instanceof Map) return `M${inner([...v.entries()])}`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => !skip.has(k) && o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${inner(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The tag of `body` sealed under `vmpck` (hex) with sequence number `seq`. */
export function sealTag(vmpck: string, seq: number, body: unknown): string {
  return createHmac('sha256', Buffer.from(vmpck, 'hex'))
    .update(`${seq}\n${canonical(body)}`)
    .digest('hex');
}

/** True when `seal` is `body`'s under `vmpck`. */
export function sealVerifies(vmpck: string, body: unknown, seal: MsgSeal | undefined): boolean {
  if (!seal || !Number.isSafeInteger(seal.seq) || typeof seal.tag !== 'string') return false;
  return sealTag(vmpck, seal.seq, body) === seal.tag;
}
