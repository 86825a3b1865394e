/**
 * Encode + decode throughput of SPDM messages through encodeSpdm / decodeSpdm (messages/s).
 * Inputs are fixed and shaped like the libspdm captures' (SHA-384, ECDSA P-384, secp384r1).
 */
import { decodeCertChain } from '../src/wire/spdm/cert-chain.ts';
import type { Certificate } from '../src/wire/spdm/certificate.ts';
import { decodeSpdm, encodeSpdm } from '../src/wire/spdm/codec.ts';
import * as C from '../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../src/wire/spdm/context.ts';
import type { KeyExchange, KeyExchangeRsp } from '../src/wire/spdm/key-exchange.ts';
import {
  decodeMeasurementRecord,
  encodeMeasurementRecord,
  type Measurements,
} from '../src/wire/spdm/measurements.ts';
import type { SpdmMessage } from '../src/wire/spdm/messages.ts';
import {
  buildSupportedVersionsOpaque,
  buildVersionSelectionOpaque,
  decodeOpaqueData,
  findSecuredMessageData,
} from '../src/wire/spdm/opaque.ts';
import {
  decodePciSigPayload,
  encodePciSigVdm,
  pciSigVdm,
} from '../src/wire/spdm/vendor-defined.ts';
import { loadCapture } from '../test/support/captures.ts';
import type { BenchCase } from './harness.ts';

const BATCH = 100;
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

function roundTrips(m: SpdmMessage, ctx: SpdmCodecContext = {}) {
  return () => {
    for (let i = 0; i < BATCH; i++) decodeSpdm(encodeSpdm(m, ctx), ctx);
  };
}

// ---- session families and VENDOR_DEFINED ----

const P384 = { hashSize: 48, signatureSize: 96, dheSize: 96 };
const keyExchange: KeyExchange = {
  version: C.SPDM_VERSION_13,
  code: C.SPDM_KEY_EXCHANGE,
  measurementSummaryHashType: C.SPDM_MEAS_SUMMARY_ALL,
  slotId: 0,
  reqSessionId: 0xffff,
  sessionPolicy: C.SPDM_SESSION_POLICY.TerminationPolicyRuntimeUpdate,
  randomData: fill(32, 0x6a),
  exchangeData: fill(96, 0x24),
  opaqueData: buildSupportedVersionsOpaque([0x1000, 0x1100, 0x1200], C.SPDM_VERSION_13),
};
const keyExchangeRsp: KeyExchangeRsp = {
  version: C.SPDM_VERSION_13,
  code: C.SPDM_KEY_EXCHANGE_RSP,
  heartbeatPeriod: 0xf0,
  rspSessionId: 0xffff,
  mutAuthRequested: 0,
  reqSlotIdParam: 0,
  randomData: fill(32, 0xd6),
  exchangeData: fill(96, 0x08),
  measurementSummaryHash: fill(48, 0xfd),
  opaqueData: buildVersionSelectionOpaque(0x1200, C.SPDM_VERSION_13),
  signature: fill(96, 0x88),
  verifyData: fill(48, 0xc6),
};
const sessionCtx: SpdmCodecContext = { sizes: P384, request: keyExchange };
// IDE_KM KEY_PROG-sized PCI-SIG payload (47 bytes after the protocol id).
const keyProgVdm = pciSigVdm(
  { protocolId: C.PCI_PROTOCOL_ID_IDE_KM, message: fill(47, 0x5a) },
  { version: C.SPDM_VERSION_13 },
);

const sessionCases: BenchCase[] = [
  {
    group: 'spdm-session',
    name: 'KEY_EXCHANGE encode+decode',
    fn: roundTrips(keyExchange, sessionCtx),
    items: BATCH,
  },
  {
    group: 'spdm-session',
    name: 'KEY_EXCHANGE_RSP encode+decode',
    fn: roundTrips(keyExchangeRsp, sessionCtx),
    items: BATCH,
  },
  {
    group: 'spdm-session',
    name: 'FINISH encode+decode',
    fn: roundTrips(
      {
        version: C.SPDM_VERSION_13,
        code: C.SPDM_FINISH,
        signatureIncluded: false,
        reqSlotId: 0,
        verifyData: fill(48, 0xbd),
      },
      sessionCtx,
    ),
    items: BATCH,
  },
  {
    group: 'spdm-session',
    name: 'KEY_UPDATE encode+decode',
    fn: roundTrips({
      version: C.SPDM_VERSION_13,
      code: C.SPDM_KEY_UPDATE,
      keyOperation: C.SPDM_KEY_UPDATE_OP.UpdateAllKeys,
      tag: 0xb4,
    }),
    items: BATCH,
  },
  {
    group: 'spdm-session',
    name: 'VENDOR_DEFINED (PCI-SIG KEY_PROG) encode+decode+unwrap',
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const b = encodePciSigVdm(
          { protocolId: C.PCI_PROTOCOL_ID_IDE_KM, message: keyProgVdm.payload.subarray(1) },
          { version: C.SPDM_VERSION_13 },
        );
        decodePciSigPayload(decodeSpdm(b) as typeof keyProgVdm);
      }
    },
    items: BATCH,
  },
  {
    group: 'spdm-session',
    name: 'opaque data decode + find version list',
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        findSecuredMessageData(decodeOpaqueData(keyExchange.opaqueData, C.SPDM_VERSION_13));
      }
    },
    items: BATCH,
  },
];

// ---- negotiation and authentication (VCA, DIGESTS, CERTIFICATE, CHALLENGE, MEASUREMENTS) ----
// Real messages: the first of each code in the SPDM 1.3 DOE capture, DOE padding cut off
// (the one trim that decodes), each with the request it answers.

interface Captured {
  bytes: Uint8Array;
  msg: SpdmMessage;
  ctx: SpdmCodecContext;
}

function capturedAuthMessages(): Map<number, Captured> {
  const out = new Map<number, Captured>();
  let request: SpdmMessage | undefined;
  for (const f of loadCapture('doe-spdm13-session.txt')) {
    if (f.transport !== 2 || f.payload[2] !== 1 || f.plaintext) continue;
    const body = f.payload.subarray(8);
    const ctx: SpdmCodecContext = { sizes: P384, request };
    for (let cut = 0; cut < 4 && cut <= body.length; cut++) {
      const bytes = body.slice(0, body.length - cut);
      let msg: SpdmMessage;
      try {
        msg = decodeSpdm(bytes, ctx);
      } catch {
        continue;
      }
      if (!out.has(msg.code)) out.set(msg.code, { bytes, msg, ctx });
      if (msg.code & 0x80) request = msg;
      break;
    }
  }
  return out;
}

const AUTH_CODES: [number, string][] = [
  [C.SPDM_VERSION, 'VERSION'],
  [C.SPDM_CAPABILITIES, 'CAPABILITIES'],
  [C.SPDM_NEGOTIATE_ALGORITHMS, 'NEGOTIATE_ALGORITHMS'],
  [C.SPDM_ALGORITHMS, 'ALGORITHMS'],
  [C.SPDM_DIGESTS, 'DIGESTS (1.3 multi-key)'],
  [C.SPDM_CERTIFICATE, 'CERTIFICATE (1.6 KB portion)'],
  [C.SPDM_CHALLENGE_AUTH, 'CHALLENGE_AUTH'],
  [C.SPDM_GET_MEASUREMENTS, 'GET_MEASUREMENTS'],
  [C.SPDM_MEASUREMENTS, 'MEASUREMENTS (all 8 blocks, signed)'],
];

let auth: Map<number, Captured> | undefined;
const authOf = (code: number): Captured => {
  auth ??= capturedAuthMessages();
  const c = auth.get(code);
  if (!c) throw new Error(`no 0x${code.toString(16)} in the capture`);
  return c;
};

const authCases: BenchCase[] = [
  ...AUTH_CODES.map(
    ([code, name]): BenchCase => ({
      group: 'spdm-auth',
      name: `${name} decode+encode`,
      fn: () => {
        const { bytes, ctx } = authOf(code);
        for (let i = 0; i < BATCH; i++) encodeSpdm(decodeSpdm(bytes, ctx), ctx);
      },
      items: BATCH,
    }),
  ),
  {
    group: 'spdm-auth',
    name: 'ERROR ResponseNotReady encode+decode',
    fn: roundTrips({
      version: C.SPDM_VERSION_13,
      code: C.SPDM_ERROR,
      errorCode: C.SPDM_ERROR_CODE.ResponseNotReady,
      errorData: 0,
      responseNotReady: {
        rdtExponent: 10,
        requestCode: C.SPDM_GET_MEASUREMENTS,
        token: 1,
        rdtm: 3,
      },
    }),
    items: BATCH,
  },
  {
    group: 'spdm-auth',
    name: 'measurement record (8 blocks) decode',
    fn: () => {
      const m = authOf(C.SPDM_MEASUREMENTS).msg as Measurements;
      const record = encodeMeasurementRecord(m.blocks);
      for (let i = 0; i < BATCH; i++) decodeMeasurementRecord(record);
    },
    items: BATCH,
  },
  {
    group: 'spdm-auth',
    name: 'certificate chain buffer (3 certs) decode',
    fn: () => {
      const chain = (authOf(C.SPDM_CERTIFICATE).msg as Certificate).certChain;
      for (let i = 0; i < BATCH; i++) decodeCertChain(chain, P384.hashSize);
    },
    items: BATCH,
  },
];

export const cases: BenchCase[] = [...authCases, ...sessionCases];
