/**
 * IDE_KM cases (PCIe 6.x 6.33.3 IDE Key Management): QUERY, KEY_PROG of every sub-stream
 * and direction, K_SET_GO / K_SET_STOP echoing their request, KP_ACK status for a wrong
 * length, port index or sub-stream, requests outside a secured session, and a key set
 * never programmed (which must not make the stream usable: LOCK_INTERFACE_REQUEST, which
 * needs the stream's keys running, is refused).
 */
import { CaseFailure, type ConformanceCase, check, requires } from '../case.ts';
import { type CaseContext, describeAnswer, IdeKmOps } from '../context.ts';
import {
  describeIdeKm,
  describeTdisp,
  ideKeyProg,
  ideKSet,
  ideQuery,
  KP_ACK_STATUS_NAMES,
  keySubStream,
  slotLabel,
  streamSlots,
} from '../messages.ts';

const IDE = 'PCIe 6.x §6.33.3 IDE_KM';

function ideCase(
  id: string,
  rule: string,
  title: string,
  run: (ctx: CaseContext) => Promise<void>,
): ConformanceCase {
  return { id: `ide-km.${id}`, group: 'ide-km', rule, title, run };
}

async function ideConn(ctx: CaseContext): Promise<IdeKmOps> {
  const c = await ctx.open();
  await c.session();
  return new IdeKmOps(c);
}

/** Fails unless `ack` is KP_ACK with `status` echoing stream, sub-stream and port. */
function expectKpAck(
  ack: Uint8Array,
  status: number,
  streamId: number,
  kss: number,
  port: number,
): void {
  check(
    ack[0] === 0x03 && ack[4] === status,
    `KP_ACK ${KP_ACK_STATUS_NAMES[status]}`,
    describeIdeKm(ack),
    ack,
  );
  check(
    ack[3] === streamId && ack[5] === kss && ack[6] === port,
    `KP_ACK for stream ${streamId}, key_sub_stream 0x${kss.toString(16)}, port ${port}`,
    `stream ${ack[3]}, key_sub_stream 0x${ack[5].toString(16)}, port ${ack[6]}`,
    ack,
  );
}

function expectGoStopAck(ack: Uint8Array, streamId: number, kss: number, port: number): void {
  check(ack[0] === 0x06, 'K_GOSTOP_ACK', describeIdeKm(ack), ack);
  check(
    ack[3] === streamId && ack[5] === kss && ack[6] === port,
    `K_GOSTOP_ACK for stream ${streamId}, key_sub_stream 0x${kss.toString(16)}, port ${port}`,
    `stream ${ack[3]}, key_sub_stream 0x${ack[5].toString(16)}, port ${ack[6]}`,
    ack,
  );
}

/** MaxPortIndex from QUERY_RESP (byte 6). */
async function maxPortIndex(ide: IdeKmOps): Promise<number> {
  const r = await ide.object(ideQuery(ide.portIndex), 'QUERY_RESP');
  if (r[0] !== 0x01 || r.length < 8) throw new CaseFailure('QUERY_RESP', describeIdeKm(r), r);
  return r[6];
}

const keyProgCases: ConformanceCase[] = streamSlots(0).map((slot) =>
  ideCase(
    `key-prog.${slot.subStream.toLowerCase()}-${slot.direction.toLowerCase()}`,
    `${IDE} KEY_PROG / KP_ACK`,
    `KEY_PROG of ${slotLabel(slot)} is acknowledged Success, echoing stream, sub-stream and port`,
    async (ctx) => {
      const ide = await ideConn(ctx);
      const s = ctx.target.streamId;
      expectKpAck(await ide.keyProg(s, slot), 0, s, keySubStream(slot), ide.portIndex);
    },
  ),
);

export const IDE_KM_CASES: ConformanceCase[] = [
  ideCase(
    'query',
    `${IDE} QUERY / QUERY_RESP`,
    'QUERY is answered with QUERY_RESP for the port asked, with its IDE registers',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const r = await ide.object(ideQuery(ide.portIndex), 'QUERY_RESP');
      check(r[0] === 0x01, 'QUERY_RESP', describeIdeKm(r), r);
      check(r[2] === ide.portIndex, `PortIndex ${ide.portIndex}`, String(r[2]), r);
      check(
        r.length >= 11 && (r.length - 7) % 4 === 0,
        'an IDE register block of whole dwords after the 7-byte header',
        `${r.length - 7} bytes`,
        r,
      );
    },
  ),
  ideCase(
    'query.bad-port',
    `${IDE} QUERY PortIndex`,
    'QUERY of a port beyond MaxPortIndex gets no QUERY_RESP for it',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const max = await maxPortIndex(ide);
      requires(max < 0xff, 'MaxPortIndex is 255');
      const a = await ide.send(ideQuery(max + 1));
      const bad = a.kind === 'message' && a.message[0] === 0x01 && a.message[2] === max + 1;
      check(
        !bad,
        `an error for port ${max + 1}`,
        describeAnswer(a, 'IDE_KM'),
        'bytes' in a ? a.bytes : undefined,
      );
    },
  ),
  ideCase(
    'query.trailing-bytes',
    `${IDE} object lengths`,
    'a QUERY with trailing bytes is not answered as a QUERY',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const a = await ide.send(Uint8Array.of(0, 0, ide.portIndex, 0, 0, 0, 0, 0));
      const bad = a.kind === 'message' && a.message[0] === 0x01;
      check(
        !bad,
        'an error for an 8-byte QUERY',
        describeAnswer(a, 'IDE_KM'),
        'bytes' in a ? a.bytes : undefined,
      );
    },
  ),
  ...keyProgCases,
  ideCase(
    'key-prog.key-set-1',
    `${IDE} KEY_PROG key sets K0 / K1`,
    'KEY_PROG into key set 1 is acknowledged Success',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const slot = streamSlots(1)[0];
      expectKpAck(
        await ide.keyProg(ctx.target.streamId, slot),
        0,
        ctx.target.streamId,
        keySubStream(slot),
        ide.portIndex,
      );
    },
  ),
  ideCase(
    'key-prog.wrong-length',
    `${IDE} KP_ACK Status IncorrectLength`,
    'a KEY_PROG 4 bytes short is KP_ACK IncorrectLength',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const slot = streamSlots(0)[0];
      const a = await ide.send(
        ideKeyProg(
          ctx.target.streamId,
          keySubStream(slot),
          ide.portIndex,
          new Uint8Array(32),
          new Uint8Array(4),
        ),
      );
      check(
        a.kind === 'message' && a.message[0] === 0x03 && a.message[4] === 1,
        'KP_ACK IncorrectLength',
        describeAnswer(a, 'IDE_KM'),
        'bytes' in a ? a.bytes : undefined,
      );
    },
  ),
  ideCase(
    'key-prog.bad-port',
    `${IDE} KP_ACK Status UnsupportedPortIndex`,
    'KEY_PROG for a port beyond MaxPortIndex is KP_ACK UnsupportedPortIndex',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const max = await maxPortIndex(ide);
      requires(max < 0xff, 'MaxPortIndex is 255');
      const slot = streamSlots(0)[0];
      expectKpAck(
        await ide.keyProg(ctx.target.streamId, slot, { portIndex: max + 1 }),
        2,
        ctx.target.streamId,
        keySubStream(slot),
        max + 1,
      );
    },
  ),
  ideCase(
    'key-prog.bad-sub-stream',
    `${IDE} KP_ACK Status UnsupportedValue`,
    'KEY_PROG for a reserved sub-stream (3) is KP_ACK UnsupportedValue',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const kss = 0x30;
      expectKpAck(
        await ide.keyProg(ctx.target.streamId, streamSlots(0)[0], { kss }),
        3,
        ctx.target.streamId,
        kss,
        ide.portIndex,
      );
    },
  ),
  ideCase(
    'k-set.go-stop',
    `${IDE} K_SET_GO / K_SET_STOP / K_GOSTOP_ACK`,
    'K_SET_GO and K_SET_STOP of each programmed slot are acknowledged, echoing the request',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const s = ctx.target.streamId;
      for (const slot of streamSlots(0)) {
        expectKpAck(await ide.keyProg(s, slot), 0, s, keySubStream(slot), ide.portIndex);
        expectGoStopAck(await ide.kSet(true, s, slot), s, keySubStream(slot), ide.portIndex);
      }
      for (const slot of streamSlots(0)) {
        expectGoStopAck(await ide.kSet(false, s, slot), s, keySubStream(slot), ide.portIndex);
      }
    },
  ),
  ideCase(
    'k-set.go-unprogrammed-stream',
    `${IDE} K_SET_GO`,
    'K_SET_GO for a stream never keyed is acknowledged or refused, and the connection goes on',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const other = (ctx.target.streamId + 0x7f) & 0xff;
      const slot = streamSlots(0)[0];
      const a = await ide.send(ideKSet(true, other, keySubStream(slot), ide.portIndex));
      check(
        a.kind !== 'silent' && a.kind !== 'other',
        'K_GOSTOP_ACK or an error',
        describeAnswer(a, 'IDE_KM'),
      );
      await maxPortIndex(ide);
    },
  ),
  ideCase(
    'k-set.unprogrammed-key-set-not-usable',
    `${IDE} K_SET_GO; PCIe 6.x §11.3.8 LOCK_INTERFACE_REQUEST needs the default stream's keys`,
    'a key set never programmed, once "started", does not make the stream usable for LOCK',
    async (ctx) => {
      const { conn, tdisp } = await ctx.tdisp({ keys: false });
      const ide = new IdeKmOps(conn);
      const s = ctx.target.streamId;
      const slots = streamSlots(0);
      for (const slot of slots.slice(0, 5)) {
        expectKpAck(await ide.keyProg(s, slot), 0, s, keySubStream(slot), ide.portIndex);
        await ide.kSet(true, s, slot);
      }
      const a = await ide.send(ideKSet(true, s, keySubStream(slots[5]), ide.portIndex));
      check(
        a.kind === 'message' || a.kind === 'spdm-error',
        'K_GOSTOP_ACK or an error',
        describeAnswer(a, 'IDE_KM'),
      );
      const m = await tdisp.lock();
      check(
        m[1] === 0x7f,
        `TDISP_ERROR for LOCK with ${slotLabel(slots[5])} never programmed`,
        describeTdisp(m),
        m,
      );
      await tdisp.expectState(0, 'after the refused LOCK');
    },
  ),
  ideCase(
    'outside-session',
    `${IDE}: IDE_KM messages are secured SPDM messages`,
    'QUERY in the clear is not answered with QUERY_RESP',
    async (ctx) => {
      const c = await ctx.open();
      await c.vca();
      const a = await c.pciSig(0, ideQuery(ctx.target.portIndex), 'clear');
      const bad = a.kind === 'message';
      check(
        !bad,
        'no answer or an SPDM ERROR',
        describeAnswer(a, 'IDE_KM'),
        'bytes' in a ? a.bytes : undefined,
      );
    },
  ),
  ideCase(
    'unknown-object',
    `${IDE} Object IDs`,
    'an undefined Object ID gets no IDE_KM acknowledgement',
    async (ctx) => {
      const ide = await ideConn(ctx);
      const a = await ide.send(Uint8Array.of(0x70, 0, 0, 0, 0, 0, 0));
      const bad = a.kind === 'message' && [0x01, 0x03, 0x06].includes(a.message[0]);
      check(!bad, 'an error', describeAnswer(a, 'IDE_KM'), 'bytes' in a ? a.bytes : undefined);
    },
  ),
];
