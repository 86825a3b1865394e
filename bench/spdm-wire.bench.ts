/**
 * Encode + decode throughput of SPDM messages through encodeSpdm / decodeSpdm (messages/s).
 * Inputs are fixed and shaped like the libspdm captures' (SHA-384, ECDSA P-384, secp384r1).
 */
import { decodeSpdm, encodeSpdm } from '../src/wire/spdm/codec.ts';
import * as C from '../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../src/wire/spdm/context.ts';
import type { KeyExchange, KeyExchangeRsp } from '../src/wire/spdm/key-exchange.ts';
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

export const cases: BenchCase[] = [...sessionCases];
