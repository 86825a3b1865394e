/**
 * DSP0274 (SPDM) 1.1-1.3: what the session messages (KEY_EXCHANGE, FINISH, PSK_EXCHANGE,
 * PSK_FINISH, HEARTBEAT, KEY_UPDATE, END_SESSION and their responses) share. Sessions do not
 * exist in SPDM 1.0, so every one of them refuses that version; several are a bare header
 * with both params reserved; both exchange responses carry a MeasurementSummaryHash only
 * when their request asked for one.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import { type SPDM_KEY_EXCHANGE, type SPDM_PSK_EXCHANGE, SPDM_VERSION_11 } from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields, SpdmMessage } from './messages.ts';
import { readSized } from './sized.ts';

/**
 * Reads SPDMVersion and RequestResponseCode (dispatch already matched the code).
 * @throws WireError bad-field on SPDM 1.0, which has no sessions; truncated.
 */
export function readSessionHeader(r: Reader, name: string): number {
  const version = r.u8('SPDMVersion');
  if (version < SPDM_VERSION_11) {
    throw r.error('SPDMVersion', 'bad-field', `${name} needs SPDM 1.1 or later`, 0);
  }
  r.u8('RequestResponseCode');
  return version;
}

/**
 * Encoder side of readSessionHeader: writes SPDMVersion and RequestResponseCode.
 * @throws RangeError on SPDM 1.0.
 */
export function writeSessionHeader(w: Writer, version: number, code: number, name: string): void {
  if (version < SPDM_VERSION_11) throw new RangeError(`${name} needs SPDM 1.1 or later`);
  w.u8(version, 'SPDMVersion').u8(code);
}

/** A session message that is a header with both params reserved. */
export interface ReservedParamsMessage extends SpdmHeaderFields {
  code: number;
  param1Reserved?: number;
  param2Reserved?: number;
}

/** The codec of a header-only session message whose params are both reserved. */
export function reservedParamsCodec<M extends SpdmMessage & ReservedParamsMessage>(
  name: string,
  code: M['code'],
): SpdmFamilyCodec<M> {
  return {
    name,
    encode(w, m) {
      writeSessionHeader(w, m.version, code, name);
      w.u8(m.param1Reserved ?? 0, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
    },
    decode(r) {
      const version = readSessionHeader(r, name);
      const param1Reserved = r.reservedU8('Param1');
      const param2Reserved = r.reservedU8('Param2');
      return { version, code, param1Reserved, param2Reserved } as M;
    },
  };
}

/**
 * MeasurementSummaryHash[H] of KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP: present iff the request
 * in ctx.request (of `requestCode`) asked for one.
 * @throws WireError bad-field when ctx.request is not that request or ctx.sizes is missing.
 */
export function readSummaryHash(
  r: Reader,
  ctx: SpdmCodecContext,
  requestCode: typeof SPDM_KEY_EXCHANGE | typeof SPDM_PSK_EXCHANGE,
  requestName: string,
): Uint8Array | undefined {
  const req = ctx.request;
  if (req?.code !== requestCode) {
    throw r.error('MeasurementSummaryHash', 'bad-field', `needs the ${requestName} in ctx.request`);
  }
  return req.measurementSummaryHashType !== 0
    ? readSized(r, ctx, 'hashSize', 'MeasurementSummaryHash')
    : undefined;
}
