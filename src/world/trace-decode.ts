/**
 * The decoded fields of each SPDM record of a JSON trace (the records' `bytes` in hex), for
 * the viewer's detail pane: the SPDM message as wire/spdm decodes it and, inside a
 * PCI-SIG vendor-defined message, the IDE_KM object or TDISP message. Decoding follows the
 * connection the way the requester did: ALGORITHMS fixes the hash, signature and DHE sizes,
 * and a response is decoded against the request before it. Bytes that do not decode get the
 * decoder's error in words instead of fields; nothing here throws on trace content.
 */
import { isWireError } from '../wire/errors.ts';
import { fromHex } from '../wire/hex.ts';
import { decodeIdeKm } from '../wire/idekm/index.ts';
import { type Algorithms, algorithmSizes } from '../wire/spdm/algorithms.ts';
import { decodeSpdm } from '../wire/spdm/codec.ts';
import {
  PCI_PROTOCOL_ID_IDE_KM,
  PCI_PROTOCOL_ID_TDISP,
  SPDM_ALGORITHMS,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../wire/spdm/context.ts';
import type { SpdmMessage } from '../wire/spdm/messages.ts';
import { decodePciSigPayload } from '../wire/spdm/vendor-defined.ts';
import { decodeTdisp } from '../wire/tdisp/index.ts';
import type { JsonRecord } from './trace-file.ts';

/** JSON-safe copy: bytes as hex, bigints as 0x strings. */
function jsonSafe(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x) =>
      x instanceof Uint8Array
        ? Array.from(x, (b) => b.toString(16).padStart(2, '0')).join('')
        : typeof x === 'bigint'
          ? `0x${x.toString(16)}`
          : x,
    ),
  );
}

const why = (e: unknown) => (isWireError(e) || e instanceof Error ? e.message : String(e));

/** The inner PCI-SIG message of a vendor-defined one, decoded, or undefined. */
function inner(m: SpdmMessage): unknown {
  if (m.code !== SPDM_VENDOR_DEFINED_REQUEST && m.code !== SPDM_VENDOR_DEFINED_RESPONSE) {
    return undefined;
  }
  try {
    const p = decodePciSigPayload(m);
    if (p?.protocolId === PCI_PROTOCOL_ID_IDE_KM) return { IDE_KM: decodeIdeKm(p.message) };
    if (p?.protocolId === PCI_PROTOCOL_ID_TDISP) return { TDISP: decodeTdisp(p.message) };
  } catch (e) {
    return { error: why(e) };
  }
  return undefined;
}

/**
 * Sets `fields` on every SPDM record (kind 'spdm' with hex `bytes`), in trace order: the
 * decoded message, or `{ error }` with the decoder's words. Other records are left alone.
 */
export function decodeTraceWire(records: JsonRecord[]): void {
  const ctx: SpdmCodecContext = {};
  let request: SpdmMessage | undefined;
  for (const r of records) {
    if (r.kind !== 'spdm' || typeof r.bytes !== 'string') continue;
    let bytes: Uint8Array;
    try {
      bytes = fromHex(r.bytes);
    } catch (e) {
      r.fields = { error: why(e) };
      continue;
    }
    const toDevice = r.direction === 'to-device';
    try {
      const m = decodeSpdm(bytes, toDevice ? ctx : { ...ctx, request });
      if (toDevice) request = m;
      if (m.code === SPDM_ALGORITHMS) {
        try {
          ctx.sizes = algorithmSizes(m as Algorithms);
        } catch {
          // A selection teeio has no size for: later messages are named from their header.
        }
      }
      const sub = inner(m);
      r.fields = jsonSafe(sub === undefined ? m : { ...m, payload: sub });
    } catch (e) {
      if (toDevice) request = undefined;
      r.fields = { error: why(e) };
    }
  }
}
