/**
 * GET_MEASUREMENTS / MEASUREMENTS from the requester's side (DSP0274 1.3 section 10.11;
 * libspdm libspdm_req_get_measurements.c), outside or inside a session: checks the block
 * count and indices against the operation, each block's specification and digest size,
 * the slot and 1.3 RequesterContext echoes, and for a signed response the signature over
 * L1/L2 (A || every GET_MEASUREMENTS / MEASUREMENTS since the last signed one). M starts
 * over after a signed response or any failure. A full digest-form read becomes the
 * reference for measurement summary hashes.
 */
import { SPDM_SIGNING_CONTEXT } from '../../crypto/signing.ts';
import { bytesEqual } from '../../wire/hex.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_GET_MEASUREMENTS,
  SPDM_MEAS_ATTR_NEW_MEASUREMENT_REQUESTED,
  SPDM_MEAS_ATTR_RAW_BIT_STREAM_REQUESTED,
  SPDM_MEAS_ATTR_SIGNATURE_REQUESTED,
  SPDM_MEAS_OP_ALL,
  SPDM_MEAS_OP_TOTAL_NUMBER,
  SPDM_MEASUREMENTS,
  SPDM_NONCE_SIZE,
  SPDM_REQ_CONTEXT_SIZE,
  SPDM_VERSION_11,
  SPDM_VERSION_13,
} from '../../wire/spdm/constants.ts';
import type {
  GetMeasurements,
  MeasurementBlock,
  Measurements,
} from '../../wire/spdm/measurements.ts';
import { appendM, l1l2, resetForRequest, resetM } from '../transcript.ts';
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';
import type { RequesterSession } from './session-handle.ts';
import type { Negotiated } from './state.ts';
import { dropUnsettledSessions, settleSummaries } from './summary.ts';

export interface MeasurementsRequest {
  /** One index (1..0xFE), every block ('all', default), or only their number ('count'). */
  index?: number | 'all' | 'count';
  /** Ask for a signature (default true when the responder can sign). */
  signed?: boolean;
  /** Ask for raw bit streams instead of digests (default false). */
  raw?: boolean;
  /** Ask for a fresh measurement (1.2 NewMeasurementRequested). */
  newMeasurement?: boolean;
  /** Certificate slot whose key signs (default 0). */
  slot?: number;
  /** Send inside this established session. */
  session?: RequesterSession | number;
}

/** A MeasurementsRequest as call data: the session by id. */
export type MeasurementsCall = Omit<MeasurementsRequest, 'session'> & { session?: number };

export interface MeasurementsResult {
  /** Param2 of the request: 0 count, 1..0xFE index, 0xFF all. */
  operation: number;
  blocks: MeasurementBlock[];
  /** Param1 of the response for the count operation. */
  totalNumberOfMeasurements?: number;
  /** The signature was asked for and verified. */
  signed: boolean;
  slot: number;
  contentChanged: number;
  opaqueData: Uint8Array;
}

function operationOf(index: MeasurementsRequest['index']): number {
  if (index === undefined || index === 'all') return SPDM_MEAS_OP_ALL;
  if (index === 'count') return SPDM_MEAS_OP_TOTAL_NUMBER;
  if (!Number.isInteger(index) || index < 1 || index > 0xfe) {
    throw new SpdmUsageError(`measurement index ${index} is not 1..0xFE`);
  }
  return index;
}

/** What is wrong with the blocks for this request, if anything. */
function blockProblem(
  n: Negotiated,
  op: number,
  raw: boolean,
  blocks: readonly MeasurementBlock[],
): string | undefined {
  if (op === SPDM_MEAS_OP_TOTAL_NUMBER) {
    return blocks.length ? `${blocks.length} blocks answer a count request` : undefined;
  }
  if (op === SPDM_MEAS_OP_ALL && blocks.length === 0) return 'no blocks for "all"';
  if (op !== SPDM_MEAS_OP_ALL && (blocks.length !== 1 || blocks[0].index !== op)) {
    return `asked for block ${op}, got ${blocks.map((b) => b.index).join(', ') || 'none'}`;
  }
  const seen = new Set<number>();
  const digestSize = n.sizes.measurementHashSize ?? 0;
  for (const b of blocks) {
    if (b.index < 1 || b.index > 0xfe || seen.has(b.index))
      return `block index ${b.index} is invalid or repeated`;
    seen.add(b.index);
    if (b.kind === 'raw') {
      if (b.measurementSpecification !== n.selection.measurementSpec) {
        return `block ${b.index} uses measurement specification 0x${b.measurementSpecification.toString(16)}`;
      }
      continue;
    }
    if (!b.rawBitStream && !raw && digestSize > 0 && b.value.length !== digestSize) {
      return `block ${b.index} digest is ${b.value.length} bytes, MeasurementHashAlgo gives ${digestSize}`;
    }
  }
  return undefined;
}

/** What a GET_MEASUREMENTS call asks, settled before the request is built. */
interface Asked {
  signed: boolean;
  slot: number;
  op: number;
  raw: boolean;
  sessionId: number | undefined;
}

function asked(ctx: RequesterContext, o: MeasurementsCall): Asked {
  const peer = ctx.negotiated().peer.flags;
  return {
    signed: o.signed ?? (peer & SPDM_CAP.MEAS_CAP_SIG) !== 0,
    slot: o.slot ?? 0,
    op: operationOf(o.index),
    raw: o.raw ?? false,
    sessionId: o.session,
  };
}

/**
 * Builds GET_MEASUREMENTS.
 * @throws SpdmUsageError without MEAS_CAP (or MEAS_CAP_SIG for a signed request), without
 *   the slot's chain, or for an unknown or unfinished session.
 */
export function startGetMeasurements(ctx: RequesterContext, o: MeasurementsCall): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  const peer = n.peer.flags;
  if ((peer & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) === 0) {
    throw new SpdmUsageError('the responder has no MEAS_CAP');
  }
  const { signed, slot, op, raw, sessionId } = asked(ctx, o);
  if (signed && (peer & SPDM_CAP.MEAS_CAP_SIG) === 0) {
    throw new SpdmUsageError('the responder cannot sign measurements (no MEAS_CAP_SIG)');
  }
  if (signed) ctx.chain(slot);
  const s = sessionId === undefined ? undefined : ctx.established(sessionId);

  // -- request
  const req: GetMeasurements = {
    version: n.version,
    code: SPDM_GET_MEASUREMENTS,
    attributes:
      (signed ? SPDM_MEAS_ATTR_SIGNATURE_REQUESTED : 0) |
      (raw ? SPDM_MEAS_ATTR_RAW_BIT_STREAM_REQUESTED : 0) |
      (o.newMeasurement ? SPDM_MEAS_ATTR_NEW_MEASUREMENT_REQUESTED : 0),
    operation: op,
    nonce: signed ? ctx.random(SPDM_NONCE_SIZE) : undefined,
    slotIdParam: signed && n.version >= SPDM_VERSION_11 ? slot : undefined,
    requesterContext: n.version >= SPDM_VERSION_13 ? ctx.random(SPDM_REQ_CONTEXT_SIZE) : undefined,
  };
  resetForRequest(ctx.transcript, SPDM_GET_MEASUREMENTS, ctx.authenticated, s?.transcript);
  return {
    request: encodeSpdm(req),
    expect: {
      code: SPDM_MEASUREMENTS,
      version: n.version,
      codec: { version: n.version, sizes: n.sizes, request: req },
    },
    route: { sessionId },
  };
}

/**
 * Verifies MEASUREMENTS: echoes, blocks, then the signature over L1/L2.
 * @throws SpdmVerifyError 'response', 'measurements', 'measurements-signature',
 *   'measurement-summary-hash'.
 */
export function absorbMeasurements(
  ctx: RequesterContext,
  o: MeasurementsCall,
  ex: ExchangeProgress,
  { value: rsp, bytes }: Received<Measurements>,
): MeasurementsResult {
  const n = ctx.negotiated();
  const { signed, slot, op, raw, sessionId } = asked(ctx, o);
  const req = ex.expect.codec?.request as GetMeasurements;
  const t = ctx.transcript;
  const st = sessionId === undefined ? undefined : ctx.session(sessionId).transcript;

  // -- verify: echoes, blocks, then the signature over L1/L2
  const echo =
    signed && rsp.slotId !== slot
      ? `MEASUREMENTS is signed for slot ${rsp.slotId}, asked ${slot}`
      : req.requesterContext &&
          !bytesEqual(req.requesterContext, rsp.requesterContext ?? new Uint8Array())
        ? 'RequesterContext is not the one sent'
        : undefined;
  if (echo) {
    ctx.verified('response', false, sessionId);
    throw new SpdmVerifyError('response', echo);
  }
  const problem = blockProblem(n, op, raw, rsp.blocks);
  ctx.verified('measurements', problem === undefined, sessionId);
  if (problem) throw new SpdmVerifyError('measurements', problem);
  appendM(t, ex.request, st);
  if (signed && rsp.signature) {
    appendM(t, bytes.subarray(0, bytes.length - n.sizes.signatureSize), st);
    ctx.verifySignature(
      'measurements-signature',
      SPDM_SIGNING_CONTEXT.MEASUREMENTS,
      ctx.chain(slot),
      'L1/L2',
      l1l2(t, st),
      rsp.signature,
      sessionId,
    );
    resetM(t, st);
  } else {
    appendM(t, bytes, st);
  }

  // -- update
  if (op === SPDM_MEAS_OP_ALL && !raw) {
    ctx.data.measurements = rsp.blocks;
    settleSummaries(ctx, n.suite.hash);
  }
  return {
    operation: op,
    blocks: rsp.blocks,
    totalNumberOfMeasurements:
      op === SPDM_MEAS_OP_TOTAL_NUMBER ? rsp.totalNumberOfMeasurements : undefined,
    signed,
    slot,
    contentChanged: rsp.contentChanged,
    opaqueData: rsp.opaqueData,
  };
}

/**
 * A failed GET_MEASUREMENTS starts M over (libspdm resets L1/L2 on any error); after a
 * summary that did not hold, the sessions opened on unchecked summaries go too.
 */
export function abortMeasurements(
  ctx: RequesterContext,
  o: MeasurementsCall,
  error: unknown,
): void {
  const s = o.session === undefined ? undefined : ctx.data.sessions.get(o.session);
  resetM(ctx.transcript, s?.transcript);
  if (error instanceof SpdmVerifyError && error.what === 'measurement-summary-hash') {
    dropUnsettledSessions(ctx);
  }
}
