/**
 * Known answers from the three libspdm captures for the negotiation and authentication
 * families: every plain GET_VERSION .. MEASUREMENTS (and any ERROR / RESPOND_IF_READY)
 * decodes under the captured algorithms (SHA-384 / ECDSA P-384, H=48 S=96 D=96) with the
 * request it answers, and re-encodes to the captured bytes; decoded fields agree with what
 * libspdm's Debug logs printed, with the sample certificate chain and with each other
 * (CertChainHash = DIGESTS digest = Hash(chain buffer)).
 *
 * Plain DOE frames are padded to a dword and the capture's `len=` counts that padding, so
 * the message is cut to the size the sender's libspdm log printed ("libspdm_send_spdm_request
 * ... size (0x2d)", "SpdmSendResponse ... size (0x2a2)"). MCTP payloads lose their 0x05 byte.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { bytesEqual, concat } from '../../../src/wire/hex.ts';
import { type Algorithms, algorithmSizes } from '../../../src/wire/spdm/algorithms.ts';
import type { Capabilities, GetCapabilities } from '../../../src/wire/spdm/capabilities.ts';
import { decodeCertChain, splitDerCertificates } from '../../../src/wire/spdm/cert-chain.ts';
import type { Certificate, GetCertificate } from '../../../src/wire/spdm/certificate.ts';
import type { Challenge, ChallengeAuth } from '../../../src/wire/spdm/challenge.ts';
import * as C from '../../../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../../src/wire/spdm/context.ts';
import type { Digests } from '../../../src/wire/spdm/digests.ts';
import type { GetMeasurements, Measurements } from '../../../src/wire/spdm/measurements.ts';
import type { SpdmMessage } from '../../../src/wire/spdm/messages.ts';
import { formatVersionEntry, type Version } from '../../../src/wire/spdm/version.ts';
import { CAPTURES, type CaptureName, logValues, vectorPath } from '../../support/captures.ts';
import { AUTH_FAMILY_CODES, P384_SIZES } from '../../support/spdm-arbitraries.ts';
import {
  type CapturedMessage,
  capturedMessages,
  decodeReencoding,
  logText,
  REQ_LOG,
} from './capture-messages.ts';

const MY_CODES = new Set(Object.values(AUTH_FAMILY_CODES).flat());

/** Numbers a libspdm log printed as "name - 0x..." or "name (0xN) - 0x...", in order. */
function logScalars(file: string, name: string): number[] {
  const re = new RegExp(`^${name}(?: \\(0x[0-9a-f]+\\))? - 0x([0-9a-f]+)\\s*$`, 'gm');
  return [...logText(file).matchAll(re)].map((m) => Number.parseInt(m[1], 16));
}

/** The plain (not secured) messages of these families in one capture, as exact SPDM bytes. */
function plainMessages(name: CaptureName): CapturedMessage[] {
  return capturedMessages(name, MY_CODES, false);
}

/** Decodes every message with the request it answers and checks the re-encoding. */
function decodeAll(name: CaptureName): SpdmMessage[] {
  let request: SpdmMessage | undefined;
  const out: SpdmMessage[] = [];
  for (const f of plainMessages(name)) {
    // GET_VERSION / VERSION travel at 0x10 before the version is negotiated.
    const ctx: SpdmCodecContext = { version: f.version, sizes: P384_SIZES, request };
    const m = decodeReencoding(name, f, ctx);
    if (f.code & 0x80) request = m;
    out.push(m);
  }
  return out;
}

const byCode = <M extends SpdmMessage>(all: SpdmMessage[], code: number) =>
  all.filter((m) => m.code === code) as M[];
const sha384 = (b: Uint8Array) => new Uint8Array(createHash('sha384').update(b).digest());
const hexIn = (list: Uint8Array[], b: Uint8Array | undefined) =>
  b !== undefined && list.some((x) => bytesEqual(x, b));

const EXPECTED_COUNTS: Record<CaptureName, number> = {
  'doe-spdm13-session.txt': 22,
  'v12.decoded.txt': 22,
  'mctp.decoded.txt': 20,
};

describe('negotiation and authentication messages in the libspdm captures', () => {
  for (const name of CAPTURES) {
    const log = REQ_LOG(name);
    const v13 = name !== 'v12.decoded.txt';

    test(`${name}: every plain message of these families decodes and re-encodes exactly`, () => {
      assert.equal(decodeAll(name).length, EXPECTED_COUNTS[name]);
    });

    test(`${name}: VCA fields agree with the capture notes and libspdm's log`, () => {
      const all = decodeAll(name);
      const [version] = byCode<Version>(all, C.SPDM_VERSION);
      assert.deepEqual(version.entries.map(formatVersionEntry), [
        '1.0',
        '1.1',
        '1.2',
        '1.3',
        '1.4',
      ]);
      const [getCaps] = byCode<GetCapabilities>(all, C.SPDM_GET_CAPABILITIES);
      assert.deepEqual([getCaps.flags], logScalars(log, 'cap'));
      const [caps] = byCode<Capabilities>(all, C.SPDM_CAPABILITIES);
      assert.equal(caps.version, v13 ? 0x13 : 0x12);
      assert.equal(caps.supportedAlgorithms, undefined);
      const [algs] = byCode<Algorithms>(all, C.SPDM_ALGORITHMS);
      assert.deepEqual([algs.baseHashSel], logScalars(log, 'base_hash'));
      assert.deepEqual([algs.baseAsymSel], logScalars(log, 'base_asym'));
      const table = (t: number) => algs.algStructs.find((s) => s.algType === t)?.algSupported;
      assert.deepEqual([table(C.SPDM_ALG_TYPE_DHE)], logScalars(log, 'dhe'));
      assert.deepEqual([table(C.SPDM_ALG_TYPE_AEAD)], logScalars(log, 'aead'));
      assert.deepEqual([table(C.SPDM_ALG_TYPE_REQ_BASE_ASYM)], logScalars(log, 'req_asym'));
      const sizes = algorithmSizes(algs);
      assert.deepEqual(
        [sizes.hashSize, sizes.signatureSize, sizes.dheSize],
        [P384_SIZES.hashSize, P384_SIZES.signatureSize, P384_SIZES.dheSize],
      );
    });

    test(`${name}: DIGESTS slot masks, digests and 1.3 multi-key arrays match the log`, () => {
      const all = decodeAll(name);
      const digests = byCode<Digests>(all, C.SPDM_DIGESTS);
      assert.ok(digests.length >= 2);
      const logged = logValues(log, 'digest');
      for (const d of digests) {
        assert.equal(d.slotMask, logScalars(log, 'provisioned_slot_mask')[0]);
        assert.equal(d.slotMask, v13 ? 0x13 : 0x03);
        for (const x of d.digests) assert.ok(hexIn(logged, x), 'digest in the log');
        if (v13) {
          assert.equal(d.supportedSlotMask, logScalars(log, 'supported_slot_mask')[0]);
          assert.deepEqual(d.keyPairIds, logScalars(log, 'key_pair_id').slice(0, 3));
          assert.deepEqual(d.certificateInfos, logScalars(log, 'cert_info').slice(0, 3));
          assert.deepEqual(d.keyUsageMasks, logScalars(log, 'key_usage_bit_mask').slice(0, 3));
        } else {
          assert.equal(d.keyPairIds, undefined);
        }
      }
    });

    test(`${name}: CERTIFICATE portions rebuild libspdm's sample chain`, () => {
      const all = decodeAll(name);
      const chains = new Map<number, Uint8Array[]>();
      for (let i = 0; i < all.length; i++) {
        if (all[i].code !== C.SPDM_GET_CERTIFICATE) continue;
        const req = all[i] as GetCertificate;
        const rsp = all[i + 1] as Certificate;
        assert.equal(rsp.code, C.SPDM_CERTIFICATE);
        assert.equal(rsp.slotId, req.slotId);
        if (req.offset === 0) chains.set(req.slotId, []);
        chains.get(req.slotId)!.push(rsp.certChain);
        if (v13) assert.equal(rsp.responseAttributes & 7, C.SPDM_CERT_MODEL.DEVICE_CERT);
      }
      const slot0 = concat(...chains.get(0)!);
      const chain = decodeCertChain(slot0, 48);
      const bundle = new Uint8Array(
        readFileSync(vectorPath('libspdm-sample-keys', 'ecp384', 'bundle_responder.certchain.der')),
      );
      assert.deepEqual(chain.certificates, splitDerCertificates(bundle));
      assert.deepEqual(chain.rootHash, sha384(chain.certificates[0]));
      // Hash(Cert) of slot 0 is what DIGESTS and CHALLENGE_AUTH carry.
      const [digests] = byCode<Digests>(all, C.SPDM_DIGESTS);
      assert.deepEqual(digests.digests[0], sha384(slot0));
      for (const [slot, parts] of chains) {
        const c = decodeCertChain(concat(...parts), 48);
        assert.ok(c.certificates.length >= 2, `slot ${slot}`);
        assert.deepEqual(c.rootHash, sha384(c.certificates[0]), `slot ${slot} root hash`);
      }
    });

    if (name !== 'mctp.decoded.txt') {
      test(`${name}: CHALLENGE_AUTH answers the CHALLENGE`, () => {
        const all = decodeAll(name);
        const [challenge] = byCode<Challenge>(all, C.SPDM_CHALLENGE);
        const [auth] = byCode<ChallengeAuth>(all, C.SPDM_CHALLENGE_AUTH);
        const [digests] = byCode<Digests>(all, C.SPDM_DIGESTS);
        assert.equal(challenge.measurementSummaryHashType, C.SPDM_MEAS_SUMMARY_ALL);
        assert.equal(auth.slotId, challenge.slotId);
        assert.equal(auth.slotMask, digests.slotMask);
        assert.deepEqual(auth.certChainHash, digests.digests[0]);
        assert.deepEqual(
          auth.measurementSummaryHash,
          logValues(log, 'measurement_summary_hash')[0],
        );
        assert.deepEqual(auth.requesterContext, challenge.requesterContext);
        assert.equal(auth.requesterContext !== undefined, v13);
        assert.equal(auth.signature.length, 96);
      });
    }

    test(`${name}: MEASUREMENTS of all blocks, signed`, () => {
      const all = decodeAll(name);
      const [get] = byCode<GetMeasurements>(all, C.SPDM_GET_MEASUREMENTS);
      const [meas] = byCode<Measurements>(all, C.SPDM_MEASUREMENTS);
      const [algs] = byCode<Algorithms>(all, C.SPDM_ALGORITHMS);
      assert.equal(get.operation, C.SPDM_MEAS_OP_ALL);
      assert.equal(get.attributes, C.SPDM_MEAS_ATTR_SIGNATURE_REQUESTED);
      assert.ok(hexIn(logValues(log, 'RequesterNonce'), get.nonce));
      assert.equal(meas.contentChanged, C.SPDM_MEAS_CONTENT_CHANGE.NO_CHANGE);
      assert.deepEqual(
        meas.blocks.map((b) => b.index),
        [1, 2, 3, 4, 0x10, 0x11, 0xfd, 0xfe],
      );
      const record = meas.blocks.reduce(
        (n, b) => n + 4 + (b.kind === 'dmtf' ? 3 + b.value.length : b.measurement.length),
        0,
      );
      assert.deepEqual([record], logScalars(log, 'measurement_record_length'));
      const digestSize = algorithmSizes(algs).measurementHashSize;
      for (const b of meas.blocks) {
        assert.equal(b.kind, 'dmtf');
        if (b.kind === 'dmtf' && !b.rawBitStream) assert.equal(b.value.length, digestSize);
      }
      const mode = meas.blocks[7];
      assert.ok(mode.kind === 'dmtf' && mode.rawBitStream);
      assert.equal(mode.kind === 'dmtf' && mode.valueType, C.SPDM_DMTF_MEAS_TYPE.DEVICE_MODE);
      assert.ok(hexIn(logValues(log, 'nonce'), meas.nonce), 'responder nonce in the log');
      if (v13) assert.deepEqual(meas.requesterContext, get.requesterContext);
      assert.equal(meas.signature?.length, 96);
    });
  }
});
