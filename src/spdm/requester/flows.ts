/**
 * The requester's flows by call kind (as the responder's dispatch.ts maps request codes
 * to handlers): each RequesterCall kind to the request files that carry it out. Calls of
 * several requests (VCA, KEY_EXCHANGE + FINISH) chain those files' start / absorb
 * functions; their progress says which request is in flight.
 */
import type { Algorithms } from '../../wire/spdm/algorithms.ts';
import type { Capabilities } from '../../wire/spdm/capabilities.ts';
import type { Certificate } from '../../wire/spdm/certificate.ts';
import type { ChallengeAuth } from '../../wire/spdm/challenge.ts';
import type { Digests } from '../../wire/spdm/digests.ts';
import type { FinishRsp } from '../../wire/spdm/finish.ts';
import type { KeyExchangeRsp } from '../../wire/spdm/key-exchange.ts';
import type { KeyUpdateAck } from '../../wire/spdm/key-update.ts';
import type { Measurements } from '../../wire/spdm/measurements.ts';
import type { VendorDefinedResponse } from '../../wire/spdm/vendor-defined.ts';
import type { Version } from '../../wire/spdm/version.ts';
import { absorbAlgorithms, startNegotiateAlgorithms } from './algorithms.ts';
import type { RequesterCallKind } from './calls.ts';
import { absorbCapabilities, startGetCapabilities } from './capabilities.ts';
import { absorbCertificate, type CertificateProgress, startGetCertificate } from './certificate.ts';
import { abortChallenge, absorbChallengeAuth, startChallenge } from './challenge.ts';
import { absorbDigests, startGetDigests } from './digests.ts';
import { endedSession, startEndSession } from './end-session.ts';
import type { Received } from './exchange.ts';
import { absorbFinishRsp, startFinish } from './finish.ts';
import type { Flow } from './flow.ts';
import { startHeartbeat } from './heartbeat.ts';
import {
  absorbKeyExchangeRsp,
  type KeyExchangeProgress,
  startKeyExchange,
} from './key-exchange.ts';
import {
  abortKeyUpdate,
  absorbKeyUpdateAck,
  type KeyUpdateProgress,
  startKeyUpdate,
} from './key-update.ts';
import { abortMeasurements, absorbMeasurements, startGetMeasurements } from './measurements.ts';
import type { PeerCapabilities } from './state.ts';
import { absorbVendorDefined, startVendorDefined } from './vendor-defined.ts';
import { absorbVersion, startGetVersion, type VersionResult } from './version.ts';

/** Where VCA is: which request is in flight, what the earlier ones returned. */
type ConnectProgress =
  | { stage: 'version' }
  | { stage: 'capabilities'; version: VersionResult }
  | { stage: 'algorithms'; version: VersionResult; capabilities: PeerCapabilities };

/** KEY_EXCHANGE, then FINISH in the session it opened. */
type StartSessionProgress =
  | ({ stage: 'key-exchange' } & KeyExchangeProgress)
  | { stage: 'finish'; sessionId: number };

/** A response as the codec the exchange expected decoded it. */
const received = <T>(r: Received<unknown>) => r as Received<T>;

const connect: Flow<'connect', ConnectProgress> = {
  start: (ctx) => ({ send: startGetVersion(ctx), progress: { stage: 'version' } }),
  absorb: (ctx, _call, p, ex, r) => {
    switch (p.stage) {
      case 'version': {
        const version = absorbVersion(ctx, ex.request, received<Version>(r));
        return { send: startGetCapabilities(ctx), progress: { stage: 'capabilities', version } };
      }
      case 'capabilities': {
        const capabilities = absorbCapabilities(ctx, ex, received<Capabilities>(r));
        return {
          send: startNegotiateAlgorithms(ctx),
          progress: { stage: 'algorithms', version: p.version, capabilities },
        };
      }
      case 'algorithms': {
        const negotiated = absorbAlgorithms(ctx, ex, received<Algorithms>(r));
        return { result: { version: p.version, capabilities: p.capabilities, negotiated } };
      }
    }
  },
};

const startSession: Flow<'startSession', StartSessionProgress> = {
  start: (ctx, call) => {
    const { send, progress } = startKeyExchange(ctx, call.options);
    return { send, progress: { stage: 'key-exchange', ...progress } };
  },
  absorb: (ctx, call, p, ex, r) => {
    if (p.stage === 'key-exchange') {
      const sessionId = absorbKeyExchangeRsp(ctx, call.options, ex, p, received<KeyExchangeRsp>(r));
      return { send: startFinish(ctx, sessionId), progress: { stage: 'finish', sessionId } };
    }
    absorbFinishRsp(ctx, p.sessionId, ex, received<FinishRsp>(r));
    return { result: p.sessionId };
  },
  // A session whose FINISH failed is dropped (libspdm frees it).
  abort: (ctx, _call, p) => {
    if (p.stage === 'finish') ctx.dropSession(p.sessionId, 'finish-failed');
  },
};

/** Every call kind's flow. */
export const FLOWS: { [K in RequesterCallKind]: Flow<K, unknown> } = {
  getVersion: {
    start: (ctx) => ({ send: startGetVersion(ctx), progress: undefined }),
    absorb: (ctx, _c, _p, ex, r) => ({
      result: absorbVersion(ctx, ex.request, received<Version>(r)),
    }),
  },
  getCapabilities: {
    start: (ctx) => ({ send: startGetCapabilities(ctx), progress: undefined }),
    absorb: (ctx, _c, _p, ex, r) => ({
      result: absorbCapabilities(ctx, ex, received<Capabilities>(r)),
    }),
  },
  negotiateAlgorithms: {
    start: (ctx) => ({ send: startNegotiateAlgorithms(ctx), progress: undefined }),
    absorb: (ctx, _c, _p, ex, r) => ({
      result: absorbAlgorithms(ctx, ex, received<Algorithms>(r)),
    }),
  },
  connect,
  getDigests: {
    start: (ctx) => ({ send: startGetDigests(ctx), progress: undefined }),
    absorb: (ctx, _c, _p, ex, r) => ({ result: absorbDigests(ctx, ex, received<Digests>(r)) }),
  },
  getCertificate: {
    start: (ctx, c) => startGetCertificate(ctx, c.slot),
    absorb: (ctx, c, p: CertificateProgress, ex, r) =>
      absorbCertificate(ctx, c.slot, ex, p, received<Certificate>(r)),
  },
  challenge: {
    start: (ctx, c) => ({ send: startChallenge(ctx, c.slot, c.summary), progress: undefined }),
    absorb: (ctx, c, _p, ex, r) => ({
      result: absorbChallengeAuth(ctx, c.slot, c.summary, ex, received<ChallengeAuth>(r)),
    }),
    abort: (ctx, _c, _p, e) => abortChallenge(ctx, e),
  },
  getMeasurements: {
    start: (ctx, c) => ({ send: startGetMeasurements(ctx, c.request), progress: undefined }),
    absorb: (ctx, c, _p, ex, r) => ({
      result: absorbMeasurements(ctx, c.request, ex, received<Measurements>(r)),
    }),
    abort: (ctx, c, _p, e) => abortMeasurements(ctx, c.request, e),
  },
  startSession,
  vendorDefined: {
    start: (ctx, c) => ({
      send: startVendorDefined(ctx, c.sessionId, c.message),
      progress: undefined,
    }),
    absorb: (ctx, c, _p, _ex, r) => ({
      result: absorbVendorDefined(ctx, c.sessionId, c.message, received<VendorDefinedResponse>(r)),
    }),
  },
  heartbeat: {
    start: (ctx, c) => ({ send: startHeartbeat(ctx, c.sessionId), progress: undefined }),
    absorb: () => ({ result: undefined }),
  },
  keyUpdate: {
    start: (ctx, c) => startKeyUpdate(ctx, c.sessionId, c.operation),
    absorb: (ctx, c, p: KeyUpdateProgress, _ex, r) =>
      absorbKeyUpdateAck(ctx, c.sessionId, p, received<KeyUpdateAck>(r)),
    abort: (ctx, c, p: KeyUpdateProgress) => abortKeyUpdate(ctx, c.sessionId, p),
  },
  endSession: {
    start: (ctx, c) => ({
      send: startEndSession(ctx, c.sessionId, c.clearNegotiatedState),
      progress: undefined,
    }),
    absorb: (ctx, c) => {
      endedSession(ctx, c.sessionId);
      return { result: undefined };
    },
    abort: (ctx, c) => endedSession(ctx, c.sessionId),
  },
  raw: {
    start: (_ctx, c) => ({
      send: {
        request: c.request,
        expect: { code: undefined, codec: undefined },
        route: { sessionId: c.sessionId, unchecked: true },
      },
      progress: undefined,
    }),
    absorb: (_ctx, _c, _p, _ex, r) => ({ result: r.bytes }),
  },
};
