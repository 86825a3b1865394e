/**
 * What the composed device refuses end to end: vendor-defined requests of registries it
 * does not serve (CXL's VDM from libspdm's capture, another StandardID) get SPDM ERROR
 * UnsupportedRequest and the session keeps working; a LOCK_INTERFACE_REQUEST on another
 * SPDM session than the one that programmed the IDE keys is refused with TDISP
 * INVALID_REQUEST (PCIe 11.3.8), whether that session is a second one on the same
 * connection or on another connection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic, nvme } from '../../../src/device/profiles/index.ts';
import { IdeKmClient, TdispClient, TdispErrorResponse } from '../../../src/platform/tsm/index.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { SpdmErrorResponse, SpdmRequester } from '../../../src/spdm/requester/index.ts';
import { connectSpdmEmu } from '../../../src/transport/spdm-emu-client.ts';
import type { RequesterTransport } from '../../../src/transport/types.ts';
import { createTdispDevice, type TdispDevice } from '../../../src/world/tdisp-device.ts';
import { loadCapture } from '../../support/captures.ts';
import { enumerate } from '../dsm/harness.ts';

async function connected(dev: TdispDevice, transport: RequesterTransport) {
  const r = new SpdmRequester(transport, requesterConfig({ trustAnchors: [dev.root] }));
  await r.connect();
  await r.getCertificate(0);
  return r;
}

const isSpdmError = (code: number) => (e: unknown) =>
  e instanceof SpdmErrorResponse && e.errorCode === code;
const isTdispError = (code: number) => (e: unknown) =>
  e instanceof TdispErrorResponse && e.errorCode === code;

describe('vendor-defined requests of other registries', () => {
  it("answers CXL's VDM (capture frame #0094) and another StandardID with UnsupportedRequest; the session goes on", async () => {
    const frame = loadCapture('doe-spdm13-session.txt').find((f) => f.index === 94)!;
    const cxl = frame.plaintext!;
    // StandardID 3 (PCI-SIG), VendorID 98 1e (CXL): not ours.
    assert.deepEqual([...cxl.subarray(4, 9)], [0x03, 0x00, 0x02, 0x98, 0x1e]);
    const dev = await createTdispDevice({ profile: nvme, random: seededRandom('cxl') });
    enumerate(dev.device);
    const r = await connected(dev, dev.doeTransport());
    const s = await r.startSession();
    assert.equal(r.negotiated!.version, cxl[0], 'the capture speaks the negotiated 1.3');
    await assert.rejects(r.sendRaw(cxl, s), isSpdmError(0x07));
    await assert.rejects(
      r.sendVendorDefined(s, {
        standardId: 0x0a,
        vendorId: Uint8Array.of(0x12, 0x34),
        payload: Uint8Array.of(1, 2, 3),
      }),
      isSpdmError(0x07),
    );
    await r.heartbeat(s);
    const tdisp = new TdispClient({ requester: r, session: s });
    const tdi = dev.tdis()[0].interfaceId;
    assert.equal((await tdisp.getState(tdi)).name, 'CONFIG_UNLOCKED');
    await r.endSession(s);
    await r.close();
  });
});

describe('LOCK on a session that did not program the keys', () => {
  it('is INVALID_REQUEST on a second session of the same connection (DOE mailbox)', async () => {
    const dev = await createTdispDevice({ profile: nvme, random: seededRandom('two-sessions') });
    enumerate(dev.device);
    const r = await connected(dev, dev.doeTransport());
    const a = await r.startSession();
    const b = await r.startSession();
    await new IdeKmClient({ requester: r, session: a }).setupStream(0);
    const tdi = dev.tdis()[0].interfaceId;
    await assert.rejects(
      new TdispClient({ requester: r, session: b }).lock(tdi),
      isTdispError(0x01),
    );
    assert.equal(dev.dsm.tdiState(dev.tdis()[0].fn), 'CONFIG_UNLOCKED');
    // The session that keyed the stream may lock.
    const nonce = await new TdispClient({ requester: r, session: a }).lock(tdi);
    assert.equal(nonce.length, 32);
    await r.close();
  });

  it('is INVALID_REQUEST from another TCP connection; ending the keying session drops the stream', async () => {
    const dev = await createTdispDevice({ profile: nic, random: seededRandom('two-conns') });
    enumerate(dev.device);
    const server = await dev.serve({ transportType: 'pci_doe', port: 0 });
    try {
      const link = () => connectSpdmEmu({ port: server.port, transportType: 'pci_doe' });
      const r1 = await connected(dev, await link());
      const r2 = await connected(dev, await link());
      const s1 = await r1.startSession();
      const s2 = await r2.startSession();
      await new IdeKmClient({ requester: r1, session: s1 }).setupStream(0);
      assert.equal(dev.device.streamState(0), 'Secure');
      const tdi = dev.tdis()[0].interfaceId;
      await assert.rejects(
        new TdispClient({ requester: r2, session: s2 }).lock(tdi),
        isTdispError(0x01),
      );
      // Connection 1 goes away without END_SESSION: its keys stop protecting the link.
      await r1.close();
      for (let i = 0; i < 50 && dev.device.streamState(0) === 'Secure'; i++) {
        await new Promise((ok) => setTimeout(ok, 10));
      }
      assert.equal(dev.device.streamState(0), 'Insecure');
      await r2.endSession(s2);
      await r2.close();
    } finally {
      await server.close();
    }
  });
});
