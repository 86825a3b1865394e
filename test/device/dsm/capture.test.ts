/**
 * Replays the IDE_KM and TDISP requests of libspdm's spdm-emu requester, as captured in
 * ../shared/vectors/libspdm-captures/doe-spdm13-session.txt (decrypted application data),
 * against the DSM in the 'spdm-emu' behaviour, and compares every response with the one
 * spdm-emu's responder sent.
 *
 * The device is built to look like spdm-emu's sample TDI: InterfaceID 0xbeef (bus 0xbe,
 * function 0xef), four MMIO ranges of 1 (non-TEE), 4, 8 and 8 pages in BARs 1-4 (spdm-emu
 * numbers its ranges 1-4; teeio reports the BAR index, PCIe's BEI), and the 16
 * device-specific bytes "tdisp_dev_emu". Exactly equal: KP_ACK, K_GOSTOP_ACK,
 * TDISP_VERSION, TDISP_CAPABILITIES, DEVICE_INTERFACE_STATE, START/STOP responses, and the
 * report's portion lengths and every report field but FIRST_PAGE. Equal in structure: the
 * LOCK nonce (random), QUERY_RESP (this device's own IDE registers and routing id), and
 * FIRST_PAGE: spdm-emu reports fixed BAR offsets without MMIO_REPORTING_OFFSET, teeio
 * reports (BAR address + offset) / 4 KiB as the PCIe text asks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readIdeRegisterBlock } from '../../../src/device/dsm/pci-hardware.ts';
import { SPDM_EMU_BUS, spdmEmu } from '../../../src/device/profiles/spdm-emu.ts';
import { decodeIdeKm } from '../../../src/wire/idekm/messages.ts';
import { decodeTdisp, type TdispMessage } from '../../../src/wire/tdisp/messages.ts';
import { decodeInterfaceReport, ReportAssembler } from '../../../src/wire/tdisp/report.ts';
import { loadCapture } from '../../support/captures.ts';
import { ctx, makeWorld } from './harness.ts';

/** The shipped look-alike profile (src/device/profiles/spdm-emu.ts). */
const emuLike = spdmEmu;

interface Vdm {
  index: number;
  sessionId?: number;
  protocolId: number;
  message: Uint8Array;
}

/** PCI-SIG VENDOR_DEFINED messages of the capture: FE|7E 00 00 | 03 00 | 02 | 01 00 | len | ProtocolID | message. */
function pciSigMessages(dir: 'REQ->RSP' | 'RSP->REQ'): Vdm[] {
  const out: Vdm[] = [];
  for (const f of loadCapture('doe-spdm13-session.txt')) {
    const p = f.plaintext;
    if (f.dir !== dir || !p || p.length < 12) continue;
    if ((p[1] !== 0xfe && p[1] !== 0x7e) || p[4] !== 0x03 || p[5] !== 0 || p[6] !== 2) continue;
    if (p[7] !== 0x01 || p[8] !== 0x00 || p[11] > 1) continue;
    const len = p[9] | (p[10] << 8);
    out.push({
      index: f.index,
      sessionId: f.sessionId,
      protocolId: p[11],
      message: p.slice(12, 11 + len),
    });
  }
  return out;
}

test('the spdm-emu requester flow of the capture, replayed against the spdm-emu behaviour', () => {
  const requests = pciSigMessages('REQ->RSP');
  const responses = pciSigMessages('RSP->REQ');
  assert.equal(requests.length, responses.length);
  assert.ok(requests.length >= 32, `${requests.length} PCI-SIG exchanges`);
  // IDE_KM comes first: QUERY, then the keys, before any TDISP.
  assert.equal(requests[0].protocolId, 0);
  assert.ok(requests.findIndex((r) => r.protocolId === 1) > 12);

  const w = makeWorld(emuLike, { behaviour: 'spdm-emu' }, { bus: SPDM_EMU_BUS });
  let report = { mine: new ReportAssembler(), theirs: new ReportAssembler() };
  let lockOffset = 0n;
  let checked = 0;

  requests.forEach((req, i) => {
    const want = responses[i];
    assert.equal(want.protocolId, req.protocolId, `#${req.index}`);
    const handler = req.protocolId === 0 ? w.dsm.ideKmHandler : w.dsm.tdispHandler;
    assert.ok(req.sessionId !== undefined, 'IDE_KM and TDISP travel in a secured session');
    const r = handler(ctx(req.sessionId), req.message);
    assert.equal(r.kind, 'response', `#${req.index} answered`);
    if (r.kind !== 'response') return;
    const got = r.message;
    const where = `#${req.index} -> #${want.index}`;

    if (req.protocolId === 0) {
      const g = decodeIdeKm(got);
      const t = decodeIdeKm(want.message);
      assert.equal(g.objectId, t.objectId, where);
      if (g.objectId === 0x01 && t.objectId === 0x01) {
        assert.equal(g.portIndex, t.portIndex, where);
        assert.equal(g.maxPortIndex, t.maxPortIndex, where);
        assert.equal((g.busNum << 8) | g.devFuncNum, w.device.requesterId(0), where);
        assert.deepEqual(g.ideRegisters, readIdeRegisterBlock(w.device), where);
      } else {
        assert.deepEqual(got, want.message, `${where}: bytes`);
      }
      checked++;
      return;
    }

    const g = decodeTdisp(got);
    const t = decodeTdisp(want.message);
    const q = decodeTdisp(req.message) as TdispMessage;
    assert.equal(g.code, t.code, `${where}: ${JSON.stringify(g)}`);
    if (q.code === 0x83) {
      lockOffset = q.mmioReportingOffset;
      report = { mine: new ReportAssembler(), theirs: new ReportAssembler() };
    }
    switch (g.code) {
      case 0x03:
        assert.equal(g.startInterfaceNonce.length, 32);
        // The requester echoes whatever nonce LOCK returned: hand it ours for START.
        for (const x of requests) {
          if (x.protocolId === 1 && x.message[1] === 0x86) x.message.set(g.startInterfaceNonce, 16);
        }
        break;
      case 0x04: {
        assert.equal(t.code, 0x04);
        if (t.code !== 0x04) break;
        assert.equal(g.portion.length, t.portion.length, `${where}: PORTION_LENGTH`);
        assert.equal(g.remainderLength, t.remainderLength, `${where}: REMAINDER_LENGTH`);
        const mine = report.mine.add(g);
        const theirs = report.theirs.add(t);
        if (mine && theirs) {
          const a = decodeInterfaceReport(mine);
          const b = decodeInterfaceReport(theirs);
          const strip = (r: typeof a) => ({
            ...r,
            mmioRanges: r.mmioRanges.map(({ firstPage: _, rangeId: __, ...x }) => x),
          });
          assert.deepEqual(strip(a), strip(b), 'report fields but FIRST_PAGE / RANGE_ID');
          assert.deepEqual(
            a.mmioRanges.map((x) => x.rangeId),
            [1, 2, 3, 4],
          );
          assert.deepEqual(
            b.mmioRanges.map((x) => x.rangeId),
            [1, 2, 3, 4],
          );
          // Neither side applies the LOCK's MMIO_REPORTING_OFFSET (the capture's ranges
          // start at page 0 whatever the offset): the ranges sit at the BARs themselves.
          assert.ok(lockOffset !== 0n, 'the capture locks with an offset');
          a.mmioRanges.forEach((x) => {
            const bar = w.bars.get(`239:${x.rangeId}`)!;
            assert.equal(x.firstPage, bar / 4096n);
          });
        }
        break;
      }
      default:
        assert.deepEqual(got, want.message, `${where}: bytes`);
    }
    checked++;
  });
  assert.equal(checked, requests.length);
  assert.equal(w.dsm.tdiState(0xef), 'CONFIG_UNLOCKED');
  assert.deepEqual(w.dsm.state.ideKm.streams, {}, 'K_SET_STOP erased every key');
});
