/**
 * NEGOTIATE_ALGORITHMS -> ALGORITHMS (DSP0274 1.3 section 10.5; libspdm
 * libspdm_get_response_algorithms). The responder picks, field by field, the first
 * algorithm of its preference list the requester also offers (libspdm's priority tables),
 * and builds the certificate chain buffers now that the hash is known.
 */
import { asymAlgsForKey } from '../../../crypto/asym.ts';
import { buildCertChain, certChainDigest } from '../../../crypto/cert-chain.ts';
import { SPDM_BIT, suiteFromSpdm } from '../../../crypto/suite.ts';
import type {
  Algorithms,
  AlgStructTable,
  NegotiateAlgorithms,
} from '../../../wire/spdm/algorithms.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_ALG_TYPE_AEAD,
  SPDM_ALG_TYPE_DHE,
  SPDM_ALG_TYPE_KEY_SCHEDULE,
  SPDM_ALG_TYPE_REQ_BASE_ASYM,
  SPDM_ALGORITHMS,
  SPDM_CAP,
  SPDM_ERROR_CODE,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
} from '../../../wire/spdm/constants.ts';
import { codecSizes } from '../../codec-sizes.ts';
import { pickPreferred } from '../../config.ts';
import { appendA } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';
import type { NegotiatedAlgorithms } from '../state.ts';

/** libspdm's limits on the request (SPDM_NEGOTIATE_ALGORITHMS_MAX_NUM_EXT_*_COUNT). */
const MAX_EXT_COUNT = 20;
const OPAQUE_FORMAT_MASK = 0x0f;

const onehot0 = (v: number) => v === 0 || (v & (v - 1)) === 0;

export function handleNegotiateAlgorithms(
  ctx: ResponderContext,
  req: HandlerRequest<NegotiateAlgorithms>,
): HandlerResult {
  const m = req.message;
  // check state: right after CAPABILITIES, outside any session.
  const s = ctx.state;
  if (s.state !== 'AFTER_CAPABILITIES' || req.session) {
    return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  }
  // validate: table types in ascending order, each once; sane counts and formats.
  let lastType = 0;
  for (const t of m.algStructs) {
    if (
      t.algType <= lastType ||
      t.algType < SPDM_ALG_TYPE_DHE ||
      t.algType > SPDM_ALG_TYPE_KEY_SCHEDULE
    ) {
      return reject(SPDM_ERROR_CODE.InvalidRequest);
    }
    lastType = t.algType;
  }
  if (m.extAsym.length > MAX_EXT_COUNT || m.extHash.length > MAX_EXT_COUNT) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  if (m.version >= SPDM_VERSION_12 && !onehot0(m.otherParamsSupport & OPAQUE_FORMAT_MASK)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }

  // process: pick each algorithm.
  const c = ctx.config;
  const p = c.algorithms;
  const peer = s.peer.flags;
  const ours = c.capabilities;
  const table = (type: number) => m.algStructs.find((t) => t.algType === type)?.algSupported ?? 0;
  const both = (bit: number) => (ours & bit) !== 0 && (peer & bit) !== 0;
  const keyEx = both(SPDM_CAP.KEY_EX_CAP);
  const psk =
    (ours & (SPDM_CAP.PSK_CAP_RESPONDER | SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT)) !== 0 &&
    (peer & SPDM_CAP.PSK_CAP_RESPONDER) !== 0;
  const meas = (ours & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) !== 0;

  const baseHashAlgo = pickPreferred(p.baseHash, m.baseHashAlgo);
  if (baseHashAlgo === 0) return reject(SPDM_ERROR_CODE.InvalidRequest);
  // Only algorithms some slot's key can sign with.
  const keyAlgs = new Set(
    c.slots.flatMap((slot) =>
      slot ? asymAlgsForKey(slot.privateKey).map((a) => SPDM_BIT.asym[a]) : [],
    ),
  );
  const baseAsymAlgo = pickPreferred(
    p.baseAsym.filter((b) => keyAlgs.has(b)),
    m.baseAsymAlgo,
  );
  if (baseAsymAlgo === 0 && keyAlgs.size > 0 && m.baseAsymAlgo !== 0) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  const measurementSpec = meas ? p.measurementSpec & m.measurementSpecification : 0;
  const measurementHashAlgo = measurementSpec ? (p.measurementHash[0] ?? 0) : 0;
  const v11 = m.version >= SPDM_VERSION_11;
  const dheNamedGroup = v11 && keyEx ? pickPreferred(p.dhe, table(SPDM_ALG_TYPE_DHE)) : 0;
  const aeadCipherSuite =
    v11 && (keyEx || psk) ? pickPreferred(p.aead, table(SPDM_ALG_TYPE_AEAD)) : 0;
  const keySchedule =
    v11 && (keyEx || psk) ? pickPreferred(p.keySchedule, table(SPDM_ALG_TYPE_KEY_SCHEDULE)) : 0;
  if (keyEx && (dheNamedGroup === 0 || aeadCipherSuite === 0 || keySchedule === 0)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  // No mutual authentication: ReqBaseAsymAlg is never selected.
  const reqBaseAsymAlg = 0;
  const otherParams =
    m.version >= SPDM_VERSION_12
      ? p.opaqueDataFormat & m.otherParamsSupport & OPAQUE_FORMAT_MASK
      : 0;

  const suite = suiteFromSpdm({
    baseHashAlgo,
    baseAsymAlgo,
    dheNamedGroup,
    aeadCipherSuite,
    reqBaseAsymAlg,
    measurementHashAlgo,
  });
  const chains = c.slots.map((slot) =>
    slot ? buildCertChain(suite.hash, slot.certificates) : undefined,
  );
  const algorithms: NegotiatedAlgorithms = {
    measurementSpec,
    otherParams,
    measurementHashAlgo,
    baseAsymAlgo,
    baseHashAlgo,
    dheNamedGroup,
    aeadCipherSuite,
    reqBaseAsymAlg,
    keySchedule,
    suite,
    sizes: codecSizes(suite),
    chains,
    chainDigests: chains.map((ch) => (ch ? certChainDigest(suite.hash, ch) : undefined)),
  };

  // respond: one table per table the requester sent, with the selected bit.
  const selected: Record<number, number> = {
    [SPDM_ALG_TYPE_DHE]: dheNamedGroup,
    [SPDM_ALG_TYPE_AEAD]: aeadCipherSuite,
    [SPDM_ALG_TYPE_REQ_BASE_ASYM]: reqBaseAsymAlg,
    [SPDM_ALG_TYPE_KEY_SCHEDULE]: keySchedule,
  };
  const algStructs: AlgStructTable[] = v11
    ? m.algStructs.map((t) => ({
        algType: t.algType,
        algSupported: selected[t.algType],
        algExternal: [],
      }))
    : [];
  const rsp: Algorithms = {
    version: m.version,
    code: SPDM_ALGORITHMS,
    measurementSpecificationSel: measurementSpec,
    otherParamsSelection: otherParams,
    measurementHashAlgo,
    baseAsymSel: baseAsymAlgo,
    baseHashSel: baseHashAlgo,
    melSpecificationSel: 0,
    extAsymSel: [],
    extHashSel: [],
    algStructs,
  };
  const bytes = encodeSpdm(rsp);

  // update
  const t = ctx.transcript;
  appendA(t, req.bytes);
  appendA(t, bytes);
  t.hash = suite.hash;
  t.version = m.version;
  t.multiKeyConn = false; // teeio never advertises MULTI_KEY_CAP
  ctx.setState({ state: 'NEGOTIATED', version: s.version, peer: s.peer, algorithms });
  return respond(bytes);
}
