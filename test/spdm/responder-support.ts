/**
 * Shared setup of the responder tests: libspdm's sample P-384 identity loaded through
 * crypto's loaders, a responder configured with it, and the VCA a scripted requester runs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCertificates, loadPrivateKey } from '../../src/crypto/cert-load.ts';
import { dheGenerate, dheSharedSecret } from '../../src/crypto/dhe.ts';
import { digest } from '../../src/crypto/hash.ts';
import { type KeyScheduleParams, verifyData } from '../../src/crypto/key-schedule.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import {
  DEFAULT_RESPONDER_CAPABILITIES,
  type ResponderConfig,
  sampleMeasurements,
} from '../../src/spdm/config.ts';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import { SpdmResponder } from '../../src/spdm/responder/responder.ts';
import { deriveDataKeys, deriveHandshakeKeys, establishSession } from '../../src/spdm/session.ts';
import { VendorRegistry } from '../../src/spdm/vendor.ts';
import { concat } from '../../src/wire/hex.ts';
import type { SecuredBinding } from '../../src/wire/secured.ts';
import { type Algorithms, algorithmSizes } from '../../src/wire/spdm/algorithms.ts';
import type { Capabilities } from '../../src/wire/spdm/capabilities.ts';
import type { Certificate } from '../../src/wire/spdm/certificate.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { KeyExchangeRsp } from '../../src/wire/spdm/key-exchange.ts';
import { buildSupportedVersionsOpaque } from '../../src/wire/spdm/opaque.ts';
import type { Version } from '../../src/wire/spdm/version.ts';
import { vectorPath } from '../support/captures.ts';
import { ScriptedRequester } from './scripted-requester.ts';

const dir = () => vectorPath('libspdm-sample-keys', 'ecp384');

/** libspdm's sample responder identity (chain root..leaf, leaf key) and its root CA. */
export function sampleIdentity() {
  return {
    certificates: loadCertificates(join(dir(), 'bundle_responder.certchain.der')),
    privateKey: loadPrivateKey(join(dir(), 'end_responder.key')),
    ca: new Uint8Array(readFileSync(join(dir(), 'ca.cert.der'))),
  };
}

export const PSK = {
  hint: new Uint8Array(Buffer.from('TestPskHint')),
  psk: new Uint8Array(48).fill(0x5a),
};

/** A vendor registry with a PCI-SIG TDISP echo handler and an IDE_KM handler that refuses. */
export function testRegistry(seen: { sessionId?: number }[]): VendorRegistry {
  const reg = new VendorRegistry();
  const key = (protocolId: number) => ({
    standardId: C.SPDM_REGISTRY_ID_PCISIG,
    vendorId: Uint8Array.of(0x01, 0x00),
    protocolId,
  });
  reg.register(key(C.PCI_PROTOCOL_ID_TDISP), (ctx, message) => {
    seen.push({ sessionId: ctx.sessionId });
    if (ctx.sessionId === undefined) return { kind: 'silent' };
    return { kind: 'response', message: message.slice().reverse() };
  });
  reg.register(key(C.PCI_PROTOCOL_ID_IDE_KM), () => ({
    kind: 'spdm-error',
    errorCode: C.SPDM_ERROR_CODE.InvalidRequest,
  }));
  return reg;
}

export interface Setup {
  responder: SpdmResponder;
  r: ScriptedRequester;
  events: SpdmEvent[];
  vendorSeen: { sessionId?: number }[];
  identity: ReturnType<typeof sampleIdentity>;
}

export function setup(
  binding: SecuredBinding = 'pci_doe',
  extra: Partial<ResponderConfig> = {},
): Setup {
  const identity = sampleIdentity();
  const events: SpdmEvent[] = [];
  const vendorSeen: { sessionId?: number }[] = [];
  const responder = new SpdmResponder(
    {
      slots: [{ certificates: identity.certificates, privateKey: identity.privateKey }],
      capabilities: DEFAULT_RESPONDER_CAPABILITIES | C.SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT,
      psk: [PSK],
      heartbeatPeriod: 5,
      random: seededRandom('responder-under-test'),
      vendor: testRegistry(vendorSeen),
      measurements: sampleMeasurements(),
      onEvent: (e) => events.push(e),
      ...extra,
    },
    binding,
  );
  return { responder, r: new ScriptedRequester(responder, binding), events, vendorSeen, identity };
}

export const REQUESTER_CAPS =
  C.SPDM_CAP.CERT_CAP |
  C.SPDM_CAP.CHAL_CAP |
  C.SPDM_CAP.ENCRYPT_CAP |
  C.SPDM_CAP.MAC_CAP |
  C.SPDM_CAP.KEY_EX_CAP |
  C.SPDM_CAP.PSK_CAP_RESPONDER |
  C.SPDM_CAP.HBEAT_CAP |
  C.SPDM_CAP.KEY_UPD_CAP;

export interface VcaOptions {
  version?: number;
  caps?: number;
  dataTransferSize?: number;
  /** The GET_CAPABILITIES only, no NEGOTIATE_ALGORITHMS. */
  stopAfterCapabilities?: boolean;
}

/** GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS as spdm-emu sends them. */
export function vca(r: ScriptedRequester, o: VcaOptions = {}): Algorithms | undefined {
  const version = o.version ?? C.SPDM_VERSION_13;
  const gv = r.exchange<Version>({ version: C.SPDM_VERSION_10, code: C.SPDM_GET_VERSION });
  assert.deepEqual(
    gv.rsp.entries.map((e) => (e.major << 4) | e.minor),
    [0x10, 0x11, 0x12, 0x13],
  );
  r.a.push(gv.reqBytes, gv.rspBytes);
  const v12 = version >= C.SPDM_VERSION_12;
  const gc = r.exchange<Capabilities>({
    version,
    code: C.SPDM_GET_CAPABILITIES,
    param1: 0,
    ctExponent: 0,
    flags: o.caps ?? REQUESTER_CAPS,
    ...(v12 ? { dataTransferSize: o.dataTransferSize ?? 0x1200, maxSpdmMsgSize: 0x1200 } : {}),
  });
  r.a.push(gc.reqBytes, gc.rspBytes);
  r.version = version;
  if (o.stopAfterCapabilities) return undefined;
  const na = r.exchange<Algorithms>({
    version,
    code: C.SPDM_NEGOTIATE_ALGORITHMS,
    measurementSpecification: C.SPDM_MEASUREMENT_SPEC_DMTF,
    otherParamsSupport: v12 ? C.SPDM_OPAQUE_DATA_FMT_1 : 0,
    baseAsymAlgo: C.SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P384 | C.SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P256,
    baseHashAlgo: C.SPDM_HASH.TPM_ALG_SHA_384 | C.SPDM_HASH.TPM_ALG_SHA_256,
    melSpecification: 0,
    extAsym: [],
    extHash: [],
    algStructs: [
      { algType: C.SPDM_ALG_TYPE_DHE, algSupported: 0x18, algExternal: [] },
      { algType: C.SPDM_ALG_TYPE_AEAD, algSupported: 0x02, algExternal: [] },
      { algType: C.SPDM_ALG_TYPE_REQ_BASE_ASYM, algSupported: 0x90, algExternal: [] },
      { algType: C.SPDM_ALG_TYPE_KEY_SCHEDULE, algSupported: 0x01, algExternal: [] },
    ],
  });
  r.a.push(na.reqBytes, na.rspBytes);
  r.sizes = algorithmSizes(na.rsp);
  return na.rsp;
}

/** A DHE session up to KEY_EXCHANGE_RSP (handshake keys on the requester side). */
export function keyExchange(r: ScriptedRequester, chain: Uint8Array, reqSessionId = 0x0101) {
  const version = r.version;
  const kp = dheGenerate('secp384r1', r.random);
  const kx = r.exchange<KeyExchangeRsp>({
    version,
    code: C.SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: 0,
    slotId: 0,
    reqSessionId,
    sessionPolicy: 0,
    randomData: r.random(32),
    exchangeData: kp.exchangeData,
    opaqueData: buildSupportedVersionsOpaque([0x1100], version),
  });
  const sid = ((kx.rsp.rspSessionId << 16) | reqSessionId) >>> 0;
  const schedule: KeyScheduleParams = { version, hash: 'sha384', aeadKeySize: 32 };
  const s = r.openSession(sid, 'dhe', schedule, 'aes-256-gcm');
  s.certHash = digest('sha384', chain);
  s.k.push(kx.reqBytes, kx.rspBytes.subarray(0, kx.rspBytes.length - 48));
  const keyed = deriveHandshakeKeys(
    s.secured,
    dheSharedSecret(kp, kx.rsp.exchangeData),
    r.thHash(s, 'sha384'),
  );
  s.secured = keyed;
  const hs = keyed.handshake;
  s.k.push(kx.rsp.verifyData!);
  return { s, hs, schedule, sid };
}

/** The FINISH a requester sends for `s` (VerifyData right unless `tamper`). */
export function finishRequest(
  r: ScriptedRequester,
  x: ReturnType<typeof keyExchange>,
  tamper = false,
): Uint8Array {
  const header = Uint8Array.of(r.version, C.SPDM_FINISH, 0, 0);
  const vd = verifyData(x.schedule, x.hs.request.finishedKey, r.thHash(x.s, 'sha384', header));
  if (tamper) vd[0] ^= 0x01;
  return concat(header, vd);
}

/** KEY_EXCHANGE + FINISH: an established session. */
export function establishedSession(r: ScriptedRequester, chain: Uint8Array, reqSessionId = 0x0101) {
  const x = keyExchange(r, chain, reqSessionId);
  const req = finishRequest(r, x);
  const rsp = r.sendSecuredRaw(x.s, req);
  assert.ok(rsp && rsp[1] === C.SPDM_FINISH_RSP, 'FINISH_RSP');
  x.s.f.push(req, rsp);
  x.s.secured = establishSession(deriveDataKeys(x.s.secured, r.thHash(x.s, 'sha384')));
  return x;
}

/** Reads slot 0's chain buffer in one GET_CERTIFICATE (keeping B as the requester would). */
export function certificateChain(r: ScriptedRequester): Uint8Array {
  const x = r.exchange<Certificate>({
    version: r.version,
    code: C.SPDM_GET_CERTIFICATE,
    slotId: 0,
    requestAttributes: 0,
    offset: 0,
    length: 0xffff,
  });
  r.b.push(x.reqBytes, x.rspBytes);
  assert.equal(x.rsp.remainderLength, 0);
  return x.rsp.certChain;
}
