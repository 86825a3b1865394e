/**
 * Throughput of the transport-level wire codecs: encode + decode of one message, in
 * batches of BATCH (items = messages per call, so items/s reads as messages/s).
 * Sizes follow the captures: a 52-byte FINISH, a 1,600-byte CERTIFICATE.
 */
import { decodeDoeObject, encodeDoeObject } from '../src/wire/doe.ts';
import { decodeMctpMessage, encodeMctpMessage } from '../src/wire/mctp.ts';
import {
  decodeSecuredPlaintext,
  decodeSecuredRecord,
  encodeSecuredPlaintext,
  encodeSecuredRecord,
  makeSecuredRecord,
} from '../src/wire/secured.ts';
import { decodeFrame, encodeFrame, SocketFrameParser } from '../src/wire/socket.ts';
import type { BenchCase } from './harness.ts';

const BATCH = 100;
const small = new Uint8Array(52).fill(0x5a);
const large = new Uint8Array(1600).fill(0xa5);
const mac = new Uint8Array(16).fill(1);

function batch(fn: () => unknown): () => void {
  return () => {
    for (let i = 0; i < BATCH; i++) fn();
  };
}

const doeRecord = makeSecuredRecord(0xffffffff, new Uint8Array(54), mac);
const mctpRecord = makeSecuredRecord(0xffffffff, new Uint8Array(31), mac, 2);
const stream = (() => {
  const frames = Array.from({ length: BATCH }, () =>
    encodeFrame({ command: 1, transportType: 2, payload: small }),
  );
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.length;
  }
  return out;
})();

export const cases: BenchCase[] = [
  {
    group: 'socket',
    name: 'frame 52 B encode+decode',
    items: BATCH,
    fn: batch(() => decodeFrame(encodeFrame({ command: 1, transportType: 2, payload: small }))),
  },
  {
    group: 'socket',
    name: 'frame 1600 B encode+decode',
    items: BATCH,
    fn: batch(() => decodeFrame(encodeFrame({ command: 1, transportType: 2, payload: large }))),
  },
  {
    group: 'socket',
    name: 'stream parser, 64 B reads',
    items: BATCH,
    fn: () => {
      const p = new SocketFrameParser();
      for (let i = 0; i < stream.length; i += 64) p.push(stream.subarray(i, i + 64));
    },
  },
  {
    group: 'doe',
    name: 'object 52 B encode+decode',
    items: BATCH,
    fn: batch(() => decodeDoeObject(encodeDoeObject({ vendorId: 1, type: 1, payload: small }))),
  },
  {
    group: 'doe',
    name: 'object 1600 B encode+decode',
    items: BATCH,
    fn: batch(() => decodeDoeObject(encodeDoeObject({ vendorId: 1, type: 1, payload: large }))),
  },
  {
    group: 'mctp',
    name: 'message 52 B encode+decode',
    items: BATCH,
    fn: batch(() => decodeMctpMessage(encodeMctpMessage({ type: 5, body: small }))),
  },
  {
    group: 'secured',
    name: 'pci_doe record encode+decode',
    items: BATCH,
    fn: batch(() => decodeSecuredRecord('pci_doe', encodeSecuredRecord('pci_doe', doeRecord))),
  },
  {
    group: 'secured',
    name: 'mctp record encode+decode',
    items: BATCH,
    fn: batch(() => decodeSecuredRecord('mctp', encodeSecuredRecord('mctp', mctpRecord))),
  },
  {
    group: 'secured',
    name: 'mctp plaintext encode+decode',
    items: BATCH,
    fn: batch(() =>
      decodeSecuredPlaintext(
        'mctp',
        encodeSecuredPlaintext('mctp', { appData: small, padding: mac }),
      ),
    ),
  },
];
