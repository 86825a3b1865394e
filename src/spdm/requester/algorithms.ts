/**
 * NEGOTIATE_ALGORITHMS / ALGORITHMS from the requester's side (DSP0274 1.3 section 10.5;
 * libspdm libspdm_req_negotiate_algorithms.c): offers our preference masks, then checks
 * that every selection is a single bit we offered (or, for MeasurementHashAlgo, one the
 * responder may choose alone), that what the capabilities need was selected, and that
 * teeio can run the suite. Sets the transcript's hash and version.
 */
import { isCryptoError } from '../../crypto/errors.ts';
import { suiteFromSpdm } from '../../crypto/suite.ts';
import type {
  Algorithms,
  AlgStructTable,
  NegotiateAlgorithms,
} from '../../wire/spdm/algorithms.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_ALG_TYPE_AEAD,
  SPDM_ALG_TYPE_DHE,
  SPDM_ALG_TYPE_KEY_SCHEDULE,
  SPDM_ALG_TYPE_REQ_BASE_ASYM,
  SPDM_ALGORITHMS,
  SPDM_ALGORITHMS_MULTI_KEY_CONN,
  SPDM_CAP,
  SPDM_MEL_SPECIFICATION_DMTF,
  SPDM_NEGOTIATE_ALGORITHMS,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
  SPDM_VERSION_13,
} from '../../wire/spdm/constants.ts';
import { codecSizes } from '../codec-sizes.ts';
import { preferenceMask } from '../config.ts';
import { appendA, resetForRequest } from '../transcript.ts';
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';
import type { AlgorithmSelection, Negotiated } from './state.ts';

const single = (v: number) => v !== 0 && (v & (v - 1)) === 0;

/** A selection must be 0 (when allowed) or one bit of what was offered. */
function checkPick(
  field: string,
  value: number,
  offered: number,
  required: boolean,
): string | undefined {
  if (value === 0) return required ? `${field} selects nothing` : undefined;
  if (!single(value)) return `${field} 0x${value.toString(16)} selects more than one algorithm`;
  if ((value & offered) === 0) {
    return `${field} 0x${value.toString(16)} was not offered (0x${offered.toString(16)})`;
  }
  return undefined;
}

/** The connection state NEGOTIATE_ALGORITHMS needs. @throws SpdmUsageError otherwise. */
function afterCapabilities(ctx: RequesterContext) {
  const c = ctx.conn;
  if (c.state !== 'AFTER_CAPABILITIES') {
    throw new SpdmUsageError(
      `NEGOTIATE_ALGORITHMS needs CAPABILITIES first (connection is ${c.state})`,
    );
  }
  return c;
}

/** What we offer: our preference masks, the session ones only when we can hold sessions. */
function offerOf(ctx: RequesterContext) {
  const c = afterCapabilities(ctx);
  const v = c.version;
  const prefs = ctx.config.algorithms;
  const session = (c.localFlags & (SPDM_CAP.KEY_EX_CAP | SPDM_CAP.PSK_CAP_RESPONDER)) !== 0;
  return {
    baseAsym: preferenceMask(prefs.baseAsym),
    baseHash: preferenceMask(prefs.baseHash),
    dhe: session ? preferenceMask(prefs.dhe) : 0,
    aead: session ? preferenceMask(prefs.aead) : 0,
    reqBaseAsym: preferenceMask(prefs.reqBaseAsym),
    keySchedule: session ? preferenceMask(prefs.keySchedule) : 0,
    // OtherParamsSupport: the opaque data formats (bits 3:0), and from 1.3 MultiKeyConn
    // (bit 4) when the configured byte carries it.
    opaque:
      v >= SPDM_VERSION_13
        ? prefs.opaqueDataFormat & 0x1f
        : v >= SPDM_VERSION_12
          ? prefs.opaqueDataFormat & 0xf
          : 0,
    // libspdm offers the DMTF measurement extension log format from 1.3 on.
    mel: v >= SPDM_VERSION_13 ? SPDM_MEL_SPECIFICATION_DMTF : 0,
  };
}

/**
 * Builds NEGOTIATE_ALGORITHMS.
 * @throws SpdmUsageError before CAPABILITIES.
 */
export function startNegotiateAlgorithms(ctx: RequesterContext): Outgoing {
  // -- check state
  const c = afterCapabilities(ctx);
  const v = c.version;
  const prefs = ctx.config.algorithms;

  // -- request
  const offer = offerOf(ctx);
  // libspdm's order: DHE, AEAD, ReqBaseAsymAlg, KeySchedule.
  const tables: AlgStructTable[] = [];
  const table = (algType: number, algSupported: number) =>
    tables.push({ algType, algSupported, algExternal: [] });
  if (v >= SPDM_VERSION_11) {
    if (offer.dhe) table(SPDM_ALG_TYPE_DHE, offer.dhe);
    if (offer.aead) table(SPDM_ALG_TYPE_AEAD, offer.aead);
    if (offer.reqBaseAsym) table(SPDM_ALG_TYPE_REQ_BASE_ASYM, offer.reqBaseAsym);
    if (offer.keySchedule) table(SPDM_ALG_TYPE_KEY_SCHEDULE, offer.keySchedule);
  }
  const req: NegotiateAlgorithms = {
    version: v,
    code: SPDM_NEGOTIATE_ALGORITHMS,
    measurementSpecification: prefs.measurementSpec,
    otherParamsSupport: offer.opaque,
    baseAsymAlgo: offer.baseAsym,
    baseHashAlgo: offer.baseHash,
    melSpecification: offer.mel,
    extAsym: [],
    extHash: [],
    algStructs: tables,
  };
  resetForRequest(ctx.transcript, SPDM_NEGOTIATE_ALGORITHMS, false);
  return {
    request: encodeSpdm(req),
    expect: { code: SPDM_ALGORITHMS, version: v, codec: { version: v } },
  };
}

/**
 * Checks ALGORITHMS: single bits we offered, what the capabilities need, a suite teeio runs.
 * @throws SpdmVerifyError 'algorithms'.
 */
export function absorbAlgorithms(
  ctx: RequesterContext,
  ex: ExchangeProgress,
  { value: rsp, bytes }: Received<Algorithms>,
): Negotiated {
  const c = afterCapabilities(ctx);
  const v = c.version;
  const prefs = ctx.config.algorithms;
  const offer = offerOf(ctx);

  // -- verify
  const peer = c.peer.flags;
  const has = (bit: number) => (peer & bit) !== 0;
  const tableSel = (algType: number) =>
    rsp.algStructs.find((t) => t.algType === algType)?.algSupported ?? 0;
  const sel: AlgorithmSelection = {
    measurementSpec: rsp.measurementSpecificationSel,
    otherParams: rsp.otherParamsSelection,
    measurementHash: rsp.measurementHashAlgo >>> 0,
    baseAsym: rsp.baseAsymSel >>> 0,
    baseHash: rsp.baseHashSel >>> 0,
    dhe: tableSel(SPDM_ALG_TYPE_DHE),
    aead: tableSel(SPDM_ALG_TYPE_AEAD),
    reqBaseAsym: tableSel(SPDM_ALG_TYPE_REQ_BASE_ASYM),
    keySchedule: tableSel(SPDM_ALG_TYPE_KEY_SCHEDULE),
  };
  const meas = (peer & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) !== 0;
  const signs =
    has(SPDM_CAP.CERT_CAP) ||
    has(SPDM_CAP.CHAL_CAP) ||
    has(SPDM_CAP.MEAS_CAP_SIG) ||
    has(SPDM_CAP.KEY_EX_CAP);
  const keyEx = has(SPDM_CAP.KEY_EX_CAP) && (c.localFlags & SPDM_CAP.KEY_EX_CAP) !== 0;
  const problems = [
    rsp.extAsymSel.length + rsp.extHashSel.length > 0
      ? 'extended algorithms were not offered'
      : undefined,
    checkPick('BaseHashSel', sel.baseHash, offer.baseHash, true),
    checkPick('BaseAsymSel', sel.baseAsym, offer.baseAsym, signs),
    checkPick('MeasurementSpecificationSel', sel.measurementSpec, prefs.measurementSpec, meas),
    meas && !single(sel.measurementHash)
      ? `MeasurementHashAlgo 0x${sel.measurementHash.toString(16)} is not one algorithm`
      : undefined,
    checkPick('DHE', sel.dhe, offer.dhe, keyEx),
    checkPick('AEADCipherSuite', sel.aead, offer.aead, keyEx),
    checkPick('KeySchedule', sel.keySchedule, offer.keySchedule, keyEx),
    checkPick('ReqBaseAsymAlg', sel.reqBaseAsym, offer.reqBaseAsym, false),
    checkPick('MELspecificationSel', rsp.melSpecificationSel, offer.mel, false),
    v >= SPDM_VERSION_12
      ? checkPick('OpaqueDataFormat', sel.otherParams & 0xf, offer.opaque & 0xf, false)
      : undefined,
  ].filter((p): p is string => p !== undefined);
  let suite: ReturnType<typeof suiteFromSpdm> | undefined;
  if (problems.length === 0) {
    try {
      suite = suiteFromSpdm({
        baseHashAlgo: sel.baseHash,
        baseAsymAlgo: sel.baseAsym,
        dheNamedGroup: sel.dhe,
        aeadCipherSuite: sel.aead,
        reqBaseAsymAlg: sel.reqBaseAsym,
        measurementHashAlgo: sel.measurementHash,
      });
    } catch (e) {
      if (!isCryptoError(e)) throw e;
      problems.push(e.message);
    }
  }
  ctx.verified('algorithms', problems.length === 0);
  if (!suite || problems.length) throw new SpdmVerifyError('algorithms', problems.join('; '));

  // -- update
  const negotiated: Negotiated = {
    version: v,
    localFlags: c.localFlags,
    peer: c.peer,
    selection: sel,
    suite,
    sizes: codecSizes(suite),
    handshakeInTheClear:
      keyEx &&
      has(SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP) &&
      (c.localFlags & SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP) !== 0,
    // MULTI_KEY_CONN_RSP: the responder's MULTI_KEY_CAP is "only", or "negotiated" and we
    // asked for it.
    multiKeyConn:
      v >= SPDM_VERSION_13 &&
      (has(SPDM_CAP.MULTI_KEY_CAP_ONLY) ||
        (has(SPDM_CAP.MULTI_KEY_CAP_NEG) && (offer.opaque & SPDM_ALGORITHMS_MULTI_KEY_CONN) !== 0)),
  };
  appendA(ctx.transcript, ex.request);
  appendA(ctx.transcript, bytes);
  ctx.transcript.hash = suite.hash;
  ctx.transcript.version = v;
  ctx.transcript.multiKeyConn = negotiated.multiKeyConn;
  ctx.setState({ state: 'NEGOTIATED', negotiated });
  return negotiated;
}
