/**
 * The untrusted host talking SPDM itself on the device's DOE mailbox (PCIe 6.x 6.30; DSP0274
 * 1.3 over DSP0277 secured messages). The mailbox belongs to the host: nothing stops its
 * kernel or a root process from opening its own SPDM connection beside the TSM's, and a
 * device must then keep both apart and answer per spec.
 *
 * 'host.doe/spdm' with argument `message`:
 * - 'get-version': GET_VERSION alone (the responder starts its connection over);
 * - 'session': VCA, the slot 0 chain, KEY_EXCHANGE + FINISH, END_SESSION;
 * - 'psk-finish-in-key-exchange': VCA, the chain, KEY_EXCHANGE, then PSK_FINISH sealed with
 *   the handshake keys instead of FINISH (the cross-protocol attack behind CVE-2023-31127);
 * - 'garbage': 1 to 64 bytes from the world's random source, as one DOE SPDM object.
 * The step succeeds when the device answered; its value names the last answer.
 */
import { dheGenerate, dheSharedSecret } from '../../crypto/dhe.ts';
import { digest } from '../../crypto/hash.ts';
import { scheduleParams, verifyData } from '../../crypto/key-schedule.ts';
import { requesterConfig } from '../../spdm/config.ts';
import { SpdmRequester } from '../../spdm/requester/requester.ts';
import { deriveHandshakeKeys, openSession, protect, unprotect } from '../../spdm/session.ts';
import { appendK, startSession, thBytes, thHash } from '../../spdm/transcript.ts';
import { concat } from '../../wire/hex.ts';
import { decodeSpdmPadded, encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_ERROR,
  SPDM_KEY_EXCHANGE,
  SPDM_KEY_EXCHANGE_RSP,
  SPDM_PSK_FINISH,
  SPDM_RANDOM_SIZE,
  spdmCodeName,
  spdmErrorName,
} from '../../wire/spdm/constants.ts';
import {
  type KeyExchange,
  type KeyExchangeRsp,
  sessionIdOf,
} from '../../wire/spdm/key-exchange.ts';
import { buildSupportedVersionsOpaque } from '../../wire/spdm/opaque.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import { modelTime } from '../platform-world.ts';
import type { World } from '../world.ts';
import { refused, type StepResult } from './result.ts';
import type { OpTable } from './types.ts';

export const HOST_DOE_MESSAGES = [
  'get-version',
  'session',
  'psk-finish-in-key-exchange',
  'garbage',
] as const;
export type HostDoeMessage = (typeof HOST_DOE_MESSAGES)[number];

/** The host's deadline per exchange: the mailbox answers at once or not at all. */
const TIMEOUT_MS = 1000;

/** 'KEY_EXCHANGE_RSP', 'ERROR UnexpectedRequest', ... */
function answerName(bytes: Uint8Array): string {
  if (bytes.length >= 4 && bytes[1] === SPDM_ERROR) return `ERROR ${spdmErrorName(bytes[2])}`;
  return spdmCodeName(bytes[1]);
}

/**
 * KEY_EXCHANGE by hand on a requester that has the chain, then PSK_FINISH under the
 * handshake keys: what a requester sends to skip FINISH (and with it mutual authentication).
 * @returns the name of the device's answer to PSK_FINISH
 */
async function pskFinishInKeyExchange(
  w: World,
  t: RequesterTransport,
  rq: SpdmRequester,
): Promise<string> {
  const n = rq.negotiated;
  const chain = rq.peerChain(0);
  if (!n?.suite.dhe || !n.suite.aead || !chain) return 'no KEY_EXCHANGE possible';
  const random = w.pw.random;
  const keyPair = dheGenerate(n.suite.dhe, random);
  const req: KeyExchange = {
    version: n.version,
    code: SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: 0,
    slotId: 0,
    reqSessionId: 0xfffe,
    sessionPolicy: 0,
    randomData: random(SPDM_RANDOM_SIZE),
    exchangeData: keyPair.exchangeData,
    opaqueData: buildSupportedVersionsOpaque(rq.config.securedMessageVersions, n.version),
  };
  const reqBytes = encodeSpdm(req, { sizes: n.sizes });
  const r = await t.exchange({ secured: false, bytes: reqBytes }, TIMEOUT_MS);
  if (r.bytes.length < 4 || r.bytes[1] !== SPDM_KEY_EXCHANGE_RSP) return answerName(r.bytes);
  const got = decodeSpdmPadded(
    r.bytes,
    { version: n.version, sizes: n.sizes, request: req, handshakeInTheClear: false },
    3,
  );
  const rsp = got.message as KeyExchangeRsp;
  const st = startSession(rq.stateSnapshot().transcript, chain.hash);
  const sigAt = got.bytes.length - n.sizes.signatureSize - (rsp.verifyData ? n.sizes.hashSize : 0);
  appendK(st, reqBytes);
  appendK(st, got.bytes.subarray(0, sigAt));
  appendK(st, rsp.signature);
  const th1 = thHash(st);
  if (rsp.verifyData) appendK(st, rsp.verifyData);
  const session = deriveHandshakeKeys(
    openSession({
      id: sessionIdOf(req, rsp),
      kind: 'dhe',
      binding: t.binding,
      role: 'requester',
      schedule: scheduleParams(n.suite, n.version),
      aead: n.suite.aead,
    }),
    dheSharedSecret(keyPair, rsp.exchangeData),
    th1,
  );
  if (session.phase !== 'handshake' || !session.handshake) return 'no handshake keys';
  const header = Uint8Array.of(n.version, SPDM_PSK_FINISH, 0, 0);
  const vd = verifyData(
    session.schedule,
    session.handshake.request.finishedKey,
    digest(st.hash, thBytes(st), header),
  );
  const sealed = protect(session, concat(header, vd), random);
  const a = await t.exchange({ secured: true, bytes: sealed.record }, TIMEOUT_MS);
  if (!a.secured) return `${answerName(a.bytes)} in the clear`;
  return answerName(unprotect(sealed.session, a.bytes).message);
}

async function hostDoeSpdm(w: World, message: HostDoeMessage): Promise<StepResult> {
  const t = w.pw.dev.doeTransport(modelTime(w.pw.clock));
  const rq = new SpdmRequester(
    t,
    requesterConfig({ trustAnchors: [w.pw.dev.root], random: w.pw.random }),
    { timeoutMs: TIMEOUT_MS, retries: 0 },
  );
  let value: string;
  try {
    switch (message) {
      case 'get-version':
        await rq.getVersion();
        value = 'VERSION';
        break;
      case 'garbage': {
        const bytes = w.pw.random(1 + (w.pw.random(1)[0] % 64));
        value = answerName((await t.exchange({ secured: false, bytes }, TIMEOUT_MS)).bytes);
        break;
      }
      case 'session': {
        await rq.connect();
        await rq.getDigests();
        await rq.getCertificate(0);
        const s = await rq.startSession();
        await rq.endSession(s);
        value = 'END_SESSION_ACK';
        break;
      }
      case 'psk-finish-in-key-exchange':
        await rq.connect();
        await rq.getDigests();
        await rq.getCertificate(0);
        value = await pskFinishInKeyExchange(w, t, rq);
        break;
    }
  } catch (e) {
    // Whatever the device answered (an ERROR, silence, a record that did not open) is the
    // step's outcome, not the world's failure.
    return refused('EIO', e instanceof Error ? e.message : String(e));
  } finally {
    await t.close().catch(() => undefined);
  }
  return { ok: true, value, events: [] };
}

export const HOST_DOE_OPS: OpTable = {
  'host.doe/spdm': {
    actor: 'host',
    run: async (w, step) => {
      const m = String(step.args?.message ?? 'session');
      if (!(HOST_DOE_MESSAGES as readonly string[]).includes(m)) {
        return refused('EINVAL', `message '${m}' is not one of ${HOST_DOE_MESSAGES.join(', ')}`);
      }
      return hostDoeSpdm(w, m as HostDoeMessage);
    },
    candidates: () =>
      HOST_DOE_MESSAGES.map((message) => ({ do: 'host.doe/spdm', args: { message } })),
  },
};
