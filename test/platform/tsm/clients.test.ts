/**
 * The TSM's IDE_KM and TDISP clients against libspdm's capture: driven with the capture's
 * responses, they must send exactly spdm-emu requester's requests (frames #0034..#0093 of
 * doe-spdm13-session.txt: QUERY, 6 x KEY_PROG + K_SET_GO, the TDISP sequence, 6 x
 * K_SET_STOP), and decode what came back. Then every way a response can be wrong.
 *
 * The SPDM layer is replaced by a fake requester that only sees VENDOR_DEFINED payloads;
 * expected request bytes are the capture's plaintext, responses are cut from it by offset.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IdeKmAckError,
  IdeKmClient,
  type SecuredChannel,
  streamSlots,
  TdispClient,
  TdispErrorResponse,
  TsmProtocolError,
} from '../../../src/platform/tsm/index.ts';
import type { RequesterSession, SpdmRequester } from '../../../src/spdm/requester/index.ts';
import { type CaptureFrame, loadCapture } from '../../support/captures.ts';

interface Vdm {
  standardId: number;
  vendorId: Uint8Array;
  payload: Uint8Array;
}

/** The SPDM VENDOR_DEFINED_REQUEST a VDM makes, built by hand (version 1.3). */
function vdmBytes(m: Vdm): Uint8Array {
  return Uint8Array.of(
    0x13,
    0xfe,
    0,
    0,
    m.standardId & 0xff,
    m.standardId >> 8,
    m.vendorId.length,
    ...m.vendorId,
    m.payload.length & 0xff,
    m.payload.length >> 8,
    ...m.payload,
  );
}

/** A VDM response's fields cut out of its SPDM bytes (VendorID is 2 bytes here). */
function vdmOf(bytes: Uint8Array): Vdm {
  return {
    standardId: bytes[4] | (bytes[5] << 8),
    vendorId: bytes.slice(7, 9),
    payload: bytes.slice(11, 11 + (bytes[9] | (bytes[10] << 8))),
  };
}

/** A channel whose requester answers each VDM with `answer(request bytes)`. */
function fakeChannel(answer: (request: Uint8Array) => Uint8Array): {
  ch: SecuredChannel;
  sent: Uint8Array[];
} {
  const sent: Uint8Array[] = [];
  const requester = {
    negotiated: { version: 0x13 },
    async sendVendorDefined(_s: unknown, m: Vdm): Promise<Vdm> {
      const bytes = vdmBytes(m);
      sent.push(bytes);
      return vdmOf(answer(bytes));
    },
  } as unknown as SpdmRequester;
  return { ch: { requester, session: {} as RequesterSession }, sent };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const dwordsLe = (b: Uint8Array) =>
  Array.from({ length: b.length / 4 }, (_, i) =>
    new DataView(b.buffer, b.byteOffset + i * 4, 4).getUint32(0, true),
  );

describe("TSM clients reproduce spdm-emu requester's IDE_KM and TDISP traffic", () => {
  const frames = loadCapture('doe-spdm13-session.txt');
  const byIndex = new Map<number, CaptureFrame>(frames.map((f) => [f.index, f]));
  const pt = (i: number) => byIndex.get(i)!.plaintext!;

  it('sends frames #0034..#0093 byte for byte and decodes the answers', async () => {
    let next = 34;
    const { ch, sent } = fakeChannel((req) => {
      assert.equal(hex(req), hex(pt(next)), `request #${next}`);
      const rsp = pt(next + 1);
      next += 2;
      return rsp;
    });
    const ide = new IdeKmClient(ch, { portIndex: 1 });
    const q = await ide.query();
    assert.equal(q.portIndex, 1);

    // The capture's keys: KEY_PROG body = 8 header bytes, then key[8] and ifv[2] dwords.
    for (const [i, slot] of streamSlots(0).entries()) {
      const f = pt(36 + 4 * i);
      const body = f.subarray(12 + 7);
      const key = await ide.keyProg(0, slot, {
        key: dwordsLe(body.subarray(0, 32)),
        ifv: dwordsLe(body.subarray(32, 40)),
      });
      assert.equal(key.subStream, slot.subStream);
      await ide.kSetGo(0, slot);
    }

    const t = new TdispClient(ch);
    const tdi = 0xbeef;
    assert.deepEqual(await t.getVersion(tdi), [0x10]);
    const caps = await t.getCapabilities(tdi);
    assert.equal(caps.lockInterfaceFlagsSupported, 7);
    assert.equal((await t.getState(tdi)).name, 'CONFIG_UNLOCKED');
    const nonce = await t.lock(tdi, { flags: 7, mmioReportingOffset: 0xd000_0000n });
    assert.equal(hex(nonce), hex(pt(67).subarray(12 + 16)));
    assert.equal((await t.getState(tdi)).name, 'CONFIG_LOCKED');
    const { bytes, report } = await t.getReport(tdi);
    assert.equal(bytes.length, 100);
    assert.equal(report.mmioRanges.length, 4);
    assert.equal(Buffer.from(report.deviceSpecificInfo).toString('latin1'), 'tdisp_dev_emu\0\0\0');
    await t.start(tdi, nonce);
    assert.equal((await t.getState(tdi)).name, 'RUN');
    await t.stop(tdi);
    assert.equal((await t.getState(tdi)).name, 'CONFIG_UNLOCKED');
    await ide.stopStream(0);
    assert.equal(next, 94);
    assert.equal(sent.length, 30);
  });

  it("setupStream sends the capture's interleaved KEY_PROG / K_SET_GO sequence (keys aside)", async () => {
    let next = 36;
    const { ch } = fakeChannel((req) => {
      const want = pt(next);
      // KEY_PROG keys are fresh: compare everything but the 40 key/IFV bytes.
      const cut = want[12] === 0x02 ? 19 : want.length;
      assert.equal(hex(req.subarray(0, cut)), hex(want.subarray(0, cut)), `request #${next}`);
      assert.equal(req.length, want.length);
      const rsp = pt(next + 1);
      next += 2;
      return rsp;
    });
    const keys = await new IdeKmClient(ch, { portIndex: 1 }).setupStream(0);
    assert.equal(next, 60);
    assert.equal(new Set(keys.map((k) => hex(Uint8Array.from(k.key)))).size, 6, 'fresh keys');
  });
});

/** One IDE_KM / TDISP answer built by hand inside a PCI-SIG VDM response. */
function answer(protocolId: number, message: number[]): Uint8Array {
  const payload = [protocolId, ...message];
  return Uint8Array.of(0x13, 0x7e, 0, 0, 3, 0, 2, 1, 0, payload.length, 0, ...payload);
}

const kpAck = (status: number, stream = 0, kss = 0) => answer(0, [3, 0, 0, stream, status, kss, 0]);
const tdispHeader = (code: number, rid = 0x0001) => [
  0x10,
  code,
  0,
  0,
  rid & 0xff,
  rid >> 8,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
];

describe('TSM clients refuse wrong answers', () => {
  it('KP_ACK Status other than Success is an IdeKmAckError naming it', async () => {
    const { ch } = fakeChannel(() => kpAck(3));
    await assert.rejects(
      new IdeKmClient(ch).keyProg(0, streamSlots()[0]),
      (e) =>
        e instanceof IdeKmAckError && e.statusName === 'UnsupportedValue' && e.slot === 'PR.RX K0',
    );
  });

  it('an ack for another stream or sub-stream, or another object, is a TsmProtocolError', async () => {
    const slot = streamSlots()[0];
    for (const rsp of [kpAck(0, 1), kpAck(0, 0, 0x10), answer(0, [6, 0, 0, 0, 0, 0, 0])]) {
      const { ch } = fakeChannel(() => rsp);
      await assert.rejects(new IdeKmClient(ch).keyProg(0, slot), TsmProtocolError);
    }
    const { ch } = fakeChannel(() => answer(1, [3, 0, 0, 0, 0, 0, 0]));
    await assert.rejects(new IdeKmClient(ch).kSetGo(0, slot), /ProtocolID 1, sent 0/);
  });

  it("'program-then-go' programs all six slots before the first K_SET_GO; 'spdm-rs' reverses key dwords", async () => {
    const objects: number[] = [];
    const keyProgs: Uint8Array[] = [];
    const { ch } = fakeChannel((req) => {
      const msg = req.subarray(12);
      objects.push(msg[0]);
      if (msg[0] === 2) keyProgs.push(msg.slice());
      return answer(0, [msg[0] === 2 ? 3 : 6, 0, 0, msg[3], 0, msg[5], msg[6]]);
    });
    const key = [1, 2, 3, 4, 5, 6, 7, 8];
    const ide = new IdeKmClient(ch, { sequence: 'program-then-go', keyOrder: 'spdm-rs' });
    await ide.setupStream(2);
    assert.deepEqual(objects, [2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4]);
    await ide.keyProg(2, streamSlots()[0], { key, ifv: [9, 10] });
    const last = keyProgs[keyProgs.length - 1];
    assert.deepEqual(dwordsLe(last.subarray(7, 47)), [8, 7, 6, 5, 4, 3, 2, 1, 10, 9]);
  });

  it('TDISP_ERROR is a TdispErrorResponse naming the code', async () => {
    const err = [...tdispHeader(0x7f), 0x04, 0, 0, 0, 0, 0, 0, 0];
    const { ch } = fakeChannel(() => answer(1, err));
    await assert.rejects(
      new TdispClient(ch).start(1, new Uint8Array(32)),
      (e) =>
        e instanceof TdispErrorResponse &&
        e.codeName === 'InvalidInterfaceState' &&
        e.requestCode === 0x86,
    );
  });

  it('a response of another type, TDISP major version or interface is a TsmProtocolError', async () => {
    const state = (h: number[]) => answer(1, [...h, 2]);
    const wrongType = tdispHeader(0x05);
    const cases = [
      { rsp: answer(1, tdispHeader(0x06)), why: /answered with START_INTERFACE_RESPONSE/ },
      { rsp: state([0x20, ...wrongType.slice(1)]), why: /TDISPVersion 0x20/ },
      { rsp: state(tdispHeader(0x05, 0x0002)), why: /interface 0x2, sent 0x1/ },
      { rsp: answer(1, [0x10]), why: /TDISP GET_DEVICE_INTERFACE_STATE/ },
    ];
    for (const c of cases) {
      const { ch } = fakeChannel(() => c.rsp);
      await assert.rejects(new TdispClient(ch).getState(1), (e) => {
        assert.ok(e instanceof TsmProtocolError, String(e));
        assert.match(e.message, c.why);
        return true;
      });
    }
  });

  it('report portions that contradict each other are a TsmProtocolError', async () => {
    let n = 0;
    const { ch } = fakeChannel(() => {
      // First: 4 bytes, 100 remaining; second: 4 bytes, 100 remaining again (inconsistent).
      n++;
      return answer(1, [...tdispHeader(0x04), 4, 0, 100, 0, 0, 0, 0, 0]);
    });
    await assert.rejects(new TdispClient(ch).getReport(1), /RemainderLength/);
    assert.equal(n, 2);
  });
});
