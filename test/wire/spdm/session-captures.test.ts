/**
 * Known answers from the three libspdm captures for the session families and VENDOR_DEFINED:
 * every such message decodes under the captured algorithms (SHA-384 / ECDSA P-384 /
 * secp384r1, no handshake in the clear) and re-encodes to the captured bytes; fields agree
 * with the values libspdm's Debug logs printed; the opaque data carries the DSP0277 version
 * negotiation; session ids match the secured records that follow; PCI-SIG VDMs yield the
 * protocol id the capture names and CXL ones decode as plain VDMs.
 *
 * Plain DOE frames are padded to a dword and the capture's `len=` counts that padding, so the
 * message is cut to the size the sender's libspdm log printed ("libspdm_send_spdm_request ...
 * size (0x9e)", "SpdmSendResponse ... size (0x156)"). MCTP payloads lose their 0x05 type byte;
 * secured records give the decrypted SPDM message as `plaintext` (for MCTP without the inner
 * 0x05 byte).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesEqual, toHex } from '../../../src/wire/hex.ts';
import * as C from '../../../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../../src/wire/spdm/context.ts';
import type { EndSession } from '../../../src/wire/spdm/end-session.ts';
import type { Finish, FinishRsp } from '../../../src/wire/spdm/finish.ts';
import {
  type KeyExchange,
  type KeyExchangeRsp,
  sessionIdOf,
} from '../../../src/wire/spdm/key-exchange.ts';
import type { KeyUpdate, KeyUpdateAck } from '../../../src/wire/spdm/key-update.ts';
import type { SpdmMessage } from '../../../src/wire/spdm/messages.ts';
import { decodeOpaqueData, findSecuredMessageData } from '../../../src/wire/spdm/opaque.ts';
import type { PskExchange, PskExchangeRsp } from '../../../src/wire/spdm/psk.ts';
import {
  decodePciSigPayload,
  encodePciSigVdm,
  type VendorDefined,
} from '../../../src/wire/spdm/vendor-defined.ts';
import { CAPTURES, type CaptureName, logValues } from '../../support/captures.ts';
import { FAMILY_CODES, P384_SIZES } from '../../support/spdm-arbitraries-session.ts';
import {
  type CapturedMessage,
  capturedMessages,
  decodeReencoding,
  REQ_LOG,
} from './capture-messages.ts';

const MY_CODES = new Set(Object.values(FAMILY_CODES).flat());
const REQUESTS = new Set([C.SPDM_KEY_EXCHANGE, C.SPDM_PSK_EXCHANGE]);

type Found = CapturedMessage;

/** The session-family and VENDOR_DEFINED messages of one capture, as exact SPDM bytes. */
function sessionMessages(name: CaptureName): Found[] {
  return capturedMessages(name, MY_CODES, true);
}

/** Decodes every message under the captured context and checks the re-encoding. */
function decodeAll(name: CaptureName): { f: Found; m: SpdmMessage }[] {
  let request: SpdmMessage | undefined;
  const out: { f: Found; m: SpdmMessage }[] = [];
  for (const f of sessionMessages(name)) {
    const ctx: SpdmCodecContext = {
      version: f.version,
      sizes: P384_SIZES,
      request,
      handshakeInTheClear: false,
    };
    const m = decodeReencoding(name, f, ctx);
    if (REQUESTS.has(f.code)) request = m;
    out.push({ f, m });
  }
  return out;
}

const hexIn = (list: Uint8Array[], b: Uint8Array | undefined) =>
  b !== undefined && list.some((x) => bytesEqual(x, b));

describe('session messages in the libspdm captures', () => {
  const counts = new Map<number, number>();

  for (const name of CAPTURES) {
    test(`${name}: every session / VENDOR_DEFINED message decodes and re-encodes exactly`, () => {
      const all = decodeAll(name);
      assert.ok(all.length > 10, `${name}: only ${all.length} messages found`);
      for (const { m } of all) counts.set(m.code, (counts.get(m.code) ?? 0) + 1);
    });

    test(`${name}: KEY_EXCHANGE pair fields agree with libspdm's log and the records`, () => {
      const all = decodeAll(name);
      const log = REQ_LOG(name);
      const signatures = logValues(log, 'signature');
      const hmacs = logValues(log, 'th_curr hmac');
      const summaries = logValues(log, 'measurement_summary_hash');
      const reqRandom = logValues(log, 'RequesterRandomData');
      const rspRandom = logValues(log, 'ResponderRandomData');
      let pairs = 0;
      for (let i = 0; i < all.length; i++) {
        const { m } = all[i];
        if (m.code !== C.SPDM_KEY_EXCHANGE) continue;
        const ke = m as KeyExchange;
        const rsp = all[i + 1].m as KeyExchangeRsp;
        assert.equal(rsp.code, C.SPDM_KEY_EXCHANGE_RSP);
        assert.ok(hexIn(reqRandom, ke.randomData), 'RequesterRandomData');
        assert.ok(hexIn(rspRandom, rsp.randomData), 'ResponderRandomData');
        assert.ok(hexIn(signatures, rsp.signature), 'KEY_EXCHANGE_RSP signature');
        assert.ok(hexIn(hmacs, rsp.verifyData), 'ResponderVerifyData');
        assert.equal(ke.measurementSummaryHashType, 0xff);
        assert.ok(hexIn(summaries, rsp.measurementSummaryHash), 'MeasurementSummaryHash');
        // DSP0277 version negotiation in the opaque data.
        const offered = findSecuredMessageData(decodeOpaqueData(ke.opaqueData, ke.version));
        assert.deepStrictEqual(offered, {
          kind: 'supported-versions',
          smDataVersion: 1,
          versions: [0x1000, 0x1100, 0x1200],
        });
        const chosen = findSecuredMessageData(decodeOpaqueData(rsp.opaqueData, rsp.version));
        assert.deepStrictEqual(chosen, {
          kind: 'version-selection',
          smDataVersion: 1,
          selectedVersion: 0x1200,
        });
        // The next message is FINISH in a record of the new session.
        const fin = all[i + 2];
        assert.equal(fin.m.code, C.SPDM_FINISH);
        assert.equal(fin.f.frame.sessionId, sessionIdOf(ke, rsp));
        const finish = fin.m as Finish;
        assert.equal(finish.signatureIncluded, false);
        assert.ok(hexIn(hmacs, finish.verifyData), 'RequesterVerifyData');
        assert.equal((all[i + 3].m as FinishRsp).verifyData, undefined);
        pairs++;
      }
      assert.ok(pairs >= 2, `${name}: ${pairs} KEY_EXCHANGE pairs`);
    });

    test(`${name}: KEY_UPDATE_ACK echoes operation and tag; END_SESSION clears state`, () => {
      const all = decodeAll(name);
      for (let i = 0; i < all.length; i++) {
        const { m } = all[i];
        if (m.code === C.SPDM_KEY_UPDATE) {
          const ack = all[i + 1].m as KeyUpdateAck;
          assert.equal(ack.code, C.SPDM_KEY_UPDATE_ACK);
          assert.equal(ack.keyOperation, (m as KeyUpdate).keyOperation);
          assert.equal(ack.tag, (m as KeyUpdate).tag);
          assert.match(all[i].f.notes[0], new RegExp(`param1=0x0${ack.keyOperation} `));
        }
        if (m.code === C.SPDM_END_SESSION) {
          assert.equal((m as EndSession).preserveNegotiatedStateClear, true);
          assert.equal(all[i + 1].m.code, C.SPDM_END_SESSION_ACK);
        }
      }
    });

    test(`${name}: VENDOR_DEFINED: PCI-SIG protocol ids as captured, CXL as plain VDMs`, () => {
      let pci = 0;
      let cxl = 0;
      for (const { f, m } of decodeAll(name)) {
        if (m.code !== C.SPDM_VENDOR_DEFINED_REQUEST && m.code !== C.SPDM_VENDOR_DEFINED_RESPONSE) {
          continue;
        }
        const vdm = m as VendorDefined;
        const vdmNote = f.notes.find((n) => n.startsWith('VDM '))!;
        const idNote = /VendorID=([0-9a-f]+)/.exec(vdmNote)![1];
        assert.equal(toHex(vdm.vendorId), idNote);
        assert.equal(
          vdm.standardId,
          Number.parseInt(/StandardID=0x([0-9a-f]+)/.exec(vdmNote)![1], 16),
        );
        const pciSig = decodePciSigPayload(vdm);
        const proto = /PCI ProtocolID=(\d+)/.exec(vdmNote);
        if (proto) {
          assert.ok(pciSig, `#${f.frame.index}: PCI-SIG VDM not recognised`);
          assert.equal(pciSig.protocolId, Number(proto[1]));
          const rebuilt = encodePciSigVdm(pciSig, {
            version: vdm.version,
            response: vdm.code === C.SPDM_VENDOR_DEFINED_RESPONSE,
          });
          assert.ok(bytesEqual(rebuilt, f.bytes), `#${f.frame.index}: PCI-SIG wrapper`);
          pci++;
        } else {
          assert.equal(pciSig, undefined);
          assert.equal(idNote, '981e');
          cxl++;
        }
      }
      if (name !== 'mctp.decoded.txt')
        assert.ok(pci > 0 && cxl > 0, `${name}: ${pci} PCI-SIG, ${cxl} CXL`);
    });
  }

  test('PSK_EXCHANGE pair: hint, contexts, opaque data and session id', () => {
    const all = decodeAll('doe-spdm13-session.txt');
    const i = all.findIndex(({ m }) => m.code === C.SPDM_PSK_EXCHANGE);
    const req = all[i].m as PskExchange;
    const rsp = all[i + 1].m as PskExchangeRsp;
    assert.equal(new TextDecoder().decode(req.pskHint), 'SECONDARY_SESSION_0_PSK\0');
    assert.equal(req.sessionPolicy, 1);
    assert.equal(req.requesterContext.length, 64);
    assert.equal(rsp.responderContext.length, 64);
    assert.equal(rsp.heartbeatPeriod, 0xf0);
    assert.equal(rsp.measurementSummaryHash?.length, 48);
    assert.deepStrictEqual(findSecuredMessageData(decodeOpaqueData(req.opaqueData, 0x13)), {
      kind: 'supported-versions',
      smDataVersion: 1,
      versions: [0x1000, 0x1100, 0x1200],
    });
    assert.equal(all[i + 2].m.code, C.SPDM_PSK_FINISH);
    assert.equal(all[i + 2].f.frame.sessionId, sessionIdOf(req, rsp));
    assert.equal(all[i + 3].m.code, C.SPDM_PSK_FINISH_RSP);
  });

  test('all three captures together cover every code of the session families', () => {
    for (const code of MY_CODES) {
      assert.ok((counts.get(code) ?? 0) > 0, `no 0x${code.toString(16)} in the captures`);
    }
  });
});
