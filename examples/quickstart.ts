/**
 * The README's library example, kept runnable (test/examples.test.ts runs it):
 * a device and a TSM in process, through function 0's DOE mailbox registers.
 */
import { device, spdm, tsm, wire, world } from 'teeio';

// A NIC whose BARs platform firmware has assigned, and a requester (the TSM) trusting its root.
const dev = await world.createTdispDevice({
  profile: device.builtinProfiles.nic,
  enumerate: true,
});
const req = new spdm.SpdmRequester(
  dev.doeTransport(),
  spdm.requesterConfig({ trustAnchors: [dev.root] }),
);
await req.connect(); // GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS
await req.getCertificate(0); // the chain, verified against trustAnchors
const meas = await req.getMeasurements({ signed: true });
const session = await req.startSession(); // KEY_EXCHANGE + FINISH

// IDE_KM: key every sub-stream of stream 0, both directions; then TDISP on TDI 1 (00:00.1).
const keys = await new tsm.IdeKmClient({ requester: req, session }).setupStream(0);
const tdisp = new tsm.TdispClient({ requester: req, session });
const nonce = await tdisp.lock(1);
const { report } = await tdisp.getReport(1);
const tdi = dev.tdis().find((t) => t.fn === 1)!;
const check = tsm.checkReport(report, tdi.bars, 0n);
await tdisp.start(1, nonce);
console.log(
  `${meas.blocks.length} measurements, ${keys.length} IDE keys, ${report.mmioRanges.length} MMIO ranges,`,
  `report ${check.ok ? 'matches' : 'does not match'} the BARs, TDI ${(await tdisp.getState(1)).name}`,
);
await tdisp.stop(1);
await req.endSession(session);

// Any message decodes to a typed value; bad bytes throw WireError naming field and offset.
try {
  wire.spdm.decodeSpdm(wire.fromHex('13e1000000'));
} catch (e) {
  console.log(e instanceof wire.WireError ? e.message : e);
}

// Or the whole default scenario, with its typed trace.
const { ok, trace } = await world.runLifecycle({ seed: 'replay me' });
console.log(`lifecycle: ${trace.records.length} trace records, every check held: ${ok}`);
