/**
 * Robustness cases (the spdm-emu socket, WIRE.md; DSP0274 "the Responder shall not be
 * disrupted by malformed requests"): frames no well-behaved requester sends, each on its
 * own raw connection, then a fresh connection that must still get VERSION. A responder
 * that dies fails the case (and the cases after it report it unreachable); the suite
 * itself only ever loses the probing connection.
 */

import { encodeTransportPayload } from '../../transport/binding.ts';
import { rawProbe } from '../../transport/raw-probe.ts';
import {
  encodeFrame,
  SOCKET_CLIENT_HELLO,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_SPDM_COMMAND_TEST,
} from '../../wire/socket.ts';
import { CaseFailure, type ConformanceCase } from '../case.ts';
import type { CaseContext } from '../context.ts';
import { Bytes, describeSpdmResponse } from '../messages.ts';

const RULE =
  'spdm-emu socket framing (WIRE.md); DSP0274 1.3 §9: malformed input must not disrupt the responder';

/** The socket TransportType of the other binding. */
const otherType = (ctx: CaseContext) => (ctx.target.binding === 'pci_doe' ? 1 : 2);
const ownType = (ctx: CaseContext) => (ctx.target.binding === 'pci_doe' ? 2 : 1);

function hello(type: number): Uint8Array {
  return encodeFrame({
    command: SOCKET_SPDM_COMMAND_TEST,
    transportType: type,
    payload: SOCKET_CLIENT_HELLO,
  });
}

/** A fresh connection gets VERSION. @throws CaseFailure when the responder is gone or mute. */
async function stillServes(ctx: CaseContext, after: string): Promise<void> {
  let answer: string;
  try {
    const c = await ctx.open();
    const rsp = await c.plain(Uint8Array.of(0x10, 0x84, 0, 0));
    if (rsp[1] === 0x04) return;
    answer = describeSpdmResponse(rsp);
  } catch (e) {
    answer = e instanceof Error ? e.message : String(e);
  }
  throw new CaseFailure(`a fresh connection answered with VERSION after ${after}`, answer);
}

function robustCase(
  id: string,
  title: string,
  writes: (ctx: CaseContext) => Uint8Array[],
  after: string,
): ConformanceCase {
  return {
    id: `robustness.${id}`,
    group: 'robustness',
    rule: RULE,
    title,
    run: async (ctx) => {
      await rawProbe({
        host: ctx.target.host,
        port: ctx.target.port,
        writes: writes(ctx),
        listenMs: 300,
      });
      await stillServes(ctx, after);
    },
  };
}

const header = (command: number, type: number, size: number) =>
  new Bytes()
    .bytes([
      command >>> 24,
      (command >>> 16) & 0xff,
      (command >>> 8) & 0xff,
      command & 0xff,
      type >>> 24,
      (type >>> 16) & 0xff,
      (type >>> 8) & 0xff,
      type & 0xff,
      size >>> 24,
      (size >>> 16) & 0xff,
      (size >>> 8) & 0xff,
      size & 0xff,
    ])
    .finish();

export const ROBUSTNESS_CASES: ConformanceCase[] = [
  robustCase(
    'wrong-transport-type',
    'a NORMAL frame of the other transport type does not stop the responder',
    (ctx) => [
      hello(ownType(ctx)),
      encodeFrame({
        command: SOCKET_SPDM_COMMAND_NORMAL,
        transportType: otherType(ctx),
        payload: encodeTransportPayload(ctx.target.binding === 'pci_doe' ? 'mctp' : 'pci_doe', {
          secured: false,
          bytes: Uint8Array.of(0x10, 0x84, 0, 0),
        }),
      }),
    ],
    'a frame of the wrong transport type',
  ),
  robustCase(
    'huge-size',
    'a frame header announcing a 3 GiB payload does not stop the responder',
    (ctx) => [
      hello(ownType(ctx)),
      header(SOCKET_SPDM_COMMAND_NORMAL, ownType(ctx), 0xc000_0000),
      new Uint8Array(64),
    ],
    'a 3 GiB size announcement',
  ),
  robustCase(
    'unknown-command',
    'an unknown socket command does not stop the responder',
    (ctx) => [
      hello(ownType(ctx)),
      encodeFrame({ command: 0x1234, transportType: ownType(ctx), payload: new Uint8Array(4) }),
    ],
    'an unknown command',
  ),
  robustCase(
    'hangup-mid-header',
    'a requester hanging up inside a frame header does not stop the responder',
    (ctx) => [
      hello(ownType(ctx)),
      header(SOCKET_SPDM_COMMAND_NORMAL, ownType(ctx), 16).slice(0, 7),
    ],
    'a hang-up inside a header',
  ),
  robustCase(
    'empty-payload',
    'a NORMAL frame with an empty payload does not stop the responder',
    (ctx) => [
      hello(ownType(ctx)),
      encodeFrame({
        command: SOCKET_SPDM_COMMAND_NORMAL,
        transportType: ownType(ctx),
        payload: new Uint8Array(),
      }),
    ],
    'an empty payload',
  ),
  robustCase(
    'bad-binding-payload',
    'a payload that is not a valid DOE object / MCTP message does not stop the responder',
    (ctx) => [
      hello(ownType(ctx)),
      encodeFrame({
        command: SOCKET_SPDM_COMMAND_NORMAL,
        transportType: ownType(ctx),
        payload: Uint8Array.of(0x01, 0x00, 0x01, 0x00, 0xff, 0xff, 0x03, 0x00, 0x10),
      }),
    ],
    'a malformed binding payload',
  ),
  robustCase(
    'no-hello',
    'a NORMAL frame without the TEST hello first does not stop the responder',
    (ctx) => [
      encodeFrame({
        command: SOCKET_SPDM_COMMAND_NORMAL,
        transportType: ownType(ctx),
        payload: encodeTransportPayload(ctx.target.binding, {
          secured: false,
          bytes: Uint8Array.of(0x10, 0x84, 0, 0),
        }),
      }),
    ],
    'a frame without hello',
  ),
];
