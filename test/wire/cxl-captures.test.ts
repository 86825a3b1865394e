/**
 * Known answers from libspdm's DOE capture (doe-spdm13-session.txt): spdm-emu's requester
 * and responder ran CXL_IDE_KM and CXL TSP there. Every vendor-defined message under the
 * CXL VendorID (98 1E) is pulled out with a tiny parser written here (header 4 | StandardID
 * u16 | Len | VendorID | PayloadLength u16 | ProtocolID | message), decoded by teeio's
 * codecs with no unknown case, and re-encoded byte for byte; a few fields are checked
 * against what the capture shows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CxlIdeKmMessage,
  cxlIdeKmObjectName,
  decodeCxlIdeKm,
  encodeCxlIdeKm,
} from '../../src/wire/cxl-idekm/index.ts';
import {
  type CxlTspMessage,
  cxlTspOpcodeName,
  decodeCxlTsp,
  encodeCxlTsp,
} from '../../src/wire/cxl-tsp/index.ts';
import { loadCapture } from '../support/captures.ts';

interface CxlFrame {
  index: number;
  protocolId: number;
  message: Uint8Array;
}

function cxlFrames(): CxlFrame[] {
  const out: CxlFrame[] = [];
  for (const [index, f] of loadCapture('doe-spdm13-session.txt').entries()) {
    const p = f.plaintext;
    if (!p || p.length < 12 || (p[1] !== 0xfe && p[1] !== 0x7e)) continue;
    if ((p[4] | (p[5] << 8)) !== 3 || p[6] !== 2 || p[7] !== 0x98 || p[8] !== 0x1e) continue;
    assert.equal(11 + (p[9] | (p[10] << 8)), p.length, `frame ${index}: PayloadLength`);
    out.push({ index, protocolId: p[11], message: p.slice(12) });
  }
  return out;
}

describe('CXL_IDE_KM and CXL TSP in the libspdm DOE capture', () => {
  const frames = cxlFrames();
  const ideKm = new Map<number, CxlIdeKmMessage>();
  const tsp = new Map<number, CxlTspMessage>();

  test('every CXL message decodes without an unknown case and re-encodes byte for byte', () => {
    assert.equal(frames.length, 68);
    const names: string[] = [];
    for (const f of frames) {
      if (f.protocolId === 0) {
        const m = decodeCxlIdeKm(f.message);
        assert.ok(!('kind' in m), `frame ${f.index}`);
        assert.deepEqual(encodeCxlIdeKm(m), f.message, `frame ${f.index}`);
        ideKm.set(f.index, m);
        names.push(cxlIdeKmObjectName(m.objectId));
      } else {
        assert.equal(f.protocolId, 1, `frame ${f.index}: ProtocolID`);
        const m = decodeCxlTsp(f.message);
        assert.ok(!('kind' in m), `frame ${f.index}`);
        assert.deepEqual(encodeCxlTsp(m), f.message, `frame ${f.index}`);
        tsp.set(f.index, m);
        names.push(cxlTspOpcodeName(m.opCode));
      }
    }
    // The setup as spdm-emu's requester runs it (cxl_ide_km_process_session_message_setup).
    assert.deepEqual(names.slice(0, 12), [
      'QUERY',
      'QUERY_RESP',
      'GETKEY',
      'GETKEY_ACK',
      'KEY_PROG',
      'KP_ACK',
      'KEY_PROG',
      'KP_ACK',
      'K_SET_GO',
      'K_GOSTOP_ACK',
      'K_SET_GO',
      'K_GOSTOP_ACK',
    ]);
  });

  test('fields as the capture shows them', () => {
    const q = ideKm.get(95);
    assert.ok(q?.objectId === 0x01);
    // spdm-emu's sample: MaxPortIndex 7, Caps 0x71, the 9-dword CXL IDE Capability Structure.
    assert.deepEqual([q.maxPortIndex, q.caps, q.ideRegisters.length], [7, 0x71, 9]);
    const gk = ideKm.get(97);
    assert.ok(gk?.objectId === 0x08);
    assert.deepEqual(gk.iv, [0, 1, 2]);
    // The IV from GETKEY is not 0x80000000..: KEY_PROG RX asks for the default IV (bit 3).
    const kp = ideKm.get(98);
    assert.ok(kp?.objectId === 0x02);
    assert.deepEqual(kp.keySubStream, { direction: 'RX', bit3: 1, subStream: 8 });
    assert.deepEqual(kp.key, gk.key);
    const set = tsp.get(110);
    assert.ok(set?.opCode === 0x83);
    assert.equal(set.teStateChangeAndAccessControlFeaturesEnable, 0x16);
    assert.deepEqual(
      set.explicitIbTeStateGranularity.map((e) => e.lengthIndex),
      [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    const report = tsp.get(115);
    assert.ok(report?.opCode === 0x05);
    assert.deepEqual(
      [report.portion.length, report.remainderLength, report.portion[0]],
      [220, 0, 1],
    );
    const te = tsp.get(120);
    assert.ok(te?.opCode === 0x8d);
    assert.deepEqual(te.memoryRanges, [{ startingAddress: 0x100000n, length: 0x10000n }]);
  });
});
