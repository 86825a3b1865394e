/**
 * The RUN-state TDISP requests through the TSM client against the composed device (PCIe 6.x
 * 11.3.18 - 11.3.23): BIND_P2P_STREAM / UNBIND_P2P_STREAM for a second keyed stream when
 * LOCK set BIND_P2P, and SET_MMIO_ATTRIBUTE on a range the report marks updatable; the
 * refusals the DSM gives on the way are TdispErrorResponses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import { IdeKmClient, TdispClient, TdispErrorResponse } from '../../../src/platform/tsm/index.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { SpdmRequester } from '../../../src/spdm/requester/index.ts';
import { LOCK_INTERFACE_FLAGS } from '../../../src/wire/tdisp/constants.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';
import { enumerate } from '../dsm/harness.ts';

const refused = (name: string) => (e: unknown) =>
  e instanceof TdispErrorResponse && e.codeName === name;

describe('RUN-state requests through the TdispClient', () => {
  it('binds and unbinds a P2P stream and sets an MMIO range non-TEE', async () => {
    const dev = await createTdispDevice({ profile: nic, random: seededRandom('run-state') });
    enumerate(dev.device);
    const r = new SpdmRequester(dev.doeTransport(), requesterConfig({ trustAnchors: [dev.root] }));
    await r.connect();
    await r.getCertificate(0);
    const session = await r.startSession();
    const ch = { requester: r, session };
    const ide = new IdeKmClient(ch);
    await ide.setupStream(0);
    await ide.setupStream(1);
    const t = new TdispClient(ch);
    const tdi = dev.tdis()[0].interfaceId;

    await assert.rejects(t.bindP2P(tdi, 1), refused('InvalidInterfaceState'));
    const flags = LOCK_INTERFACE_FLAGS.LOCK_MSIX | LOCK_INTERFACE_FLAGS.BIND_P2P;
    const nonce = await t.lock(tdi, { flags });
    const { report } = await t.getReport(tdi);
    await assert.rejects(t.start(tdi, new Uint8Array(32)), refused('InvalidNonce'));
    await t.start(tdi, nonce);

    await assert.rejects(t.bindP2P(tdi, 0), refused('InvalidRequest'), 'the default stream');
    await assert.rejects(t.bindP2P(tdi, 2), refused('InvalidRequest'), 'a stream without keys');
    await t.bindP2P(tdi, 1);
    await t.unbindP2P(tdi, 1);
    await assert.rejects(t.unbindP2P(tdi, 1), refused('InvalidRequest'), 'not bound any more');

    const updatable = report.mmioRanges.find((m) => m.attributes.updatable)!;
    assert.ok(updatable, 'the report has an updatable TEE range');
    const nonTee = { msixTable: false, msixPba: false, nonTee: true, updatable: false };
    await t.setMmioAttribute(tdi, { ...updatable, attributes: nonTee });
    await assert.rejects(
      t.setMmioAttribute(tdi, {
        ...updatable,
        attributes: nonTee,
        numberOfPages: updatable.numberOfPages + 1,
      }),
      refused('InvalidRequest'),
      'not a range of the report',
    );
    await t.stop(tdi);
    assert.equal((await t.getState(tdi)).name, 'CONFIG_UNLOCKED');
    await r.endSession(session);
    await r.close();
  });
});
