/**
 * Issue 2's known-answer contract in one place: every frame of the three libspdm captures
 * parses at every layer (socket frame, DOE or MCTP, SPDM; for secured records the record
 * layout and the decrypted inner SPDM / IDE_KM / TDISP message the capture shows) and
 * re-encodes to the identical bytes. Counts are asserted so no frame is silently skipped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeDoeDiscoveryRequest,
  decodeDoeDiscoveryResponse,
  decodeDoeObject,
  doeMaxPad,
  encodeDoeDiscoveryRequest,
  encodeDoeDiscoveryResponse,
  encodeDoeObject,
  PCI_DOE_TYPE_DISCOVERY,
  PCI_DOE_TYPE_SECURED_SPDM,
  PCI_DOE_TYPE_SPDM,
} from '../../src/wire/doe.ts';
import { toHex } from '../../src/wire/hex.ts';
import { decodeIdeKm, encodeIdeKm } from '../../src/wire/idekm/index.ts';
import {
  decodeMctpMessage,
  encodeMctpMessage,
  MCTP_MESSAGE_TYPE_SECURED_MCTP,
  MCTP_MESSAGE_TYPE_SPDM,
} from '../../src/wire/mctp.ts';
import {
  decodeSecuredRecord,
  doeSecuredRecordBytes,
  encodeSecuredRecord,
  type SecuredBinding,
} from '../../src/wire/secured.ts';
import { decodeFrame, encodeFrame, SOCKET_SPDM_COMMAND_NORMAL } from '../../src/wire/socket.ts';
import { algorithmSizes } from '../../src/wire/spdm/algorithms.ts';
import { decodeSpdm, decodeSpdmPadded, encodeSpdm } from '../../src/wire/spdm/codec.ts';
import {
  PCI_PROTOCOL_ID_IDE_KM,
  PCI_PROTOCOL_ID_TDISP,
  SPDM_ALGORITHMS,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../src/wire/spdm/context.ts';
import type { SpdmMessage } from '../../src/wire/spdm/messages.ts';
import { decodePciSigPayload } from '../../src/wire/spdm/vendor-defined.ts';
import { decodeTdisp, encodeTdisp } from '../../src/wire/tdisp/index.ts';
import { CAPTURES, type CaptureName, frameBytes, loadCapture } from '../support/captures.ts';

interface Tally {
  frames: number;
  doe: number;
  discovery: number;
  mctp: number;
  plainSpdm: number;
  secured: number;
  innerSpdm: number;
  innerOther: number;
  ideKm: number;
  tdisp: number;
  otherVdm: number;
}

/** Expected per-capture tallies, counted from the captures' PART 1 flow listings. */
const EXPECTED: Record<CaptureName, Partial<Tally>> = {
  'doe-spdm13-session.txt': { frames: 250, discovery: 6, secured: 212, ideKm: 76, tdisp: 44 },
  'v12.decoded.txt': { frames: 250, discovery: 6, secured: 212, ideKm: 76, tdisp: 44 },
  'mctp.decoded.txt': { frames: 44, discovery: 0, secured: 16 },
};

function eqBytes(actual: Uint8Array, expected: Uint8Array, where: string): void {
  assert.equal(toHex(actual), toHex(expected), `${where}: re-encoding differs`);
}

function checkInnerSpdm(
  spdm: Uint8Array,
  ctx: SpdmCodecContext,
  where: string,
  t: Tally,
): SpdmMessage {
  const m = decodeSpdm(spdm, ctx);
  eqBytes(encodeSpdm(m, ctx), spdm, where);
  if (m.code === SPDM_VENDOR_DEFINED_REQUEST || m.code === SPDM_VENDOR_DEFINED_RESPONSE) {
    const p = decodePciSigPayload(m);
    if (p?.protocolId === PCI_PROTOCOL_ID_IDE_KM) {
      eqBytes(encodeIdeKm(decodeIdeKm(p.message)), p.message, `${where} IDE_KM`);
      t.ideKm++;
    } else if (p?.protocolId === PCI_PROTOCOL_ID_TDISP) {
      eqBytes(encodeTdisp(decodeTdisp(p.message)), p.message, `${where} TDISP`);
      t.tdisp++;
    } else {
      t.otherVdm++;
    }
  }
  return m;
}

describe('libspdm captures: every frame at every layer', () => {
  for (const name of CAPTURES) {
    it(name, () => {
      const t: Tally = {
        frames: 0,
        doe: 0,
        discovery: 0,
        mctp: 0,
        plainSpdm: 0,
        secured: 0,
        innerSpdm: 0,
        innerOther: 0,
        ideKm: 0,
        tdisp: 0,
        otherVdm: 0,
      };
      // Per connection: the negotiated context and the last request, so responses decode
      // with what they answer (strict request/response alternation in spdm-emu).
      const conns = new Map<number, { ctx: SpdmCodecContext; lastRequest?: SpdmMessage }>();
      for (const f of loadCapture(name)) {
        const where = `${name} #${String(f.index).padStart(4, '0')}`;
        const raw = frameBytes(f);
        const frame = decodeFrame(raw);
        eqBytes(encodeFrame(frame), raw, `${where} socket frame`);
        t.frames++;
        if (frame.command !== SOCKET_SPDM_COMMAND_NORMAL) continue;

        let conn = conns.get(f.conn);
        if (!conn) {
          conn = { ctx: {} };
          conns.set(f.conn, conn);
        }
        const ctx: SpdmCodecContext = {
          ...conn.ctx,
          request: f.dir === 'RSP->REQ' ? conn.lastRequest : undefined,
        };
        let plain: Uint8Array | undefined;
        let record: Uint8Array | undefined;
        let binding: SecuredBinding;
        if (frame.transportType === 2) {
          binding = 'pci_doe';
          const obj = decodeDoeObject(frame.payload);
          eqBytes(encodeDoeObject(obj), frame.payload, `${where} DOE object`);
          t.doe++;
          if (obj.type === PCI_DOE_TYPE_DISCOVERY) {
            if (f.dir === 'REQ->RSP') {
              eqBytes(
                encodeDoeDiscoveryRequest(decodeDoeDiscoveryRequest(obj.payload)),
                obj.payload,
                where,
              );
            } else {
              eqBytes(
                encodeDoeDiscoveryResponse(decodeDoeDiscoveryResponse(obj.payload)),
                obj.payload,
                where,
              );
            }
            t.discovery++;
            continue;
          }
          if (obj.type === PCI_DOE_TYPE_SPDM) {
            plain = decodeSpdmPadded(obj.payload, ctx, doeMaxPad(obj.payload)).bytes;
          } else {
            assert.equal(obj.type, PCI_DOE_TYPE_SECURED_SPDM, `${where}: DOE type`);
            record = doeSecuredRecordBytes(obj.payload);
          }
        } else {
          binding = 'mctp';
          const msg = decodeMctpMessage(frame.payload);
          eqBytes(encodeMctpMessage(msg), frame.payload, `${where} MCTP`);
          t.mctp++;
          if (msg.type === MCTP_MESSAGE_TYPE_SPDM) plain = msg.body;
          else {
            assert.equal(msg.type, MCTP_MESSAGE_TYPE_SECURED_MCTP, `${where}: MCTP type`);
            record = msg.body;
          }
        }

        let m: SpdmMessage | undefined;
        if (plain) {
          m = checkInnerSpdm(plain, ctx, where, t);
          t.plainSpdm++;
        } else if (record) {
          const rec = decodeSecuredRecord(binding, record);
          eqBytes(encodeSecuredRecord(binding, rec), record, `${where} secured record`);
          assert.equal(rec.sessionId, f.sessionId, `${where}: session id`);
          assert.equal(rec.ciphertext.length + rec.mac.length, rec.length, `${where}: length`);
          t.secured++;
          assert.ok(f.plaintext, `${where}: the capture shows the decrypted app data`);
          const inner = f.notes.find((n) => n.startsWith('inner MCTP message type='));
          if (inner && !inner.includes('(SPDM)')) {
            t.innerOther++; // e.g. PLDM over secured MCTP: not an SPDM message
            continue;
          }
          m = checkInnerSpdm(f.plaintext, ctx, `${where} (decrypted)`, t);
          t.innerSpdm++;
        }
        if (!m) continue;
        if (f.dir === 'REQ->RSP') conn.lastRequest = m;
        if (m.code === SPDM_ALGORITHMS) {
          conn.ctx = { version: m.version, sizes: algorithmSizes(m) };
        }
      }
      for (const [k, v] of Object.entries(EXPECTED[name])) {
        assert.equal(t[k as keyof Tally], v, `${name}: ${k}`);
      }
      // Every NORMAL frame was decoded down to its innermost layer.
      const normal = loadCapture(name).filter(
        (f) => f.command === SOCKET_SPDM_COMMAND_NORMAL,
      ).length;
      assert.equal(
        t.discovery + t.plainSpdm + t.innerSpdm + t.innerOther,
        normal,
        `${name}: innermost`,
      );
    });
  }
});
