/**
 * What a case works with: the target (where the responder is, how to reach it, what to
 * trust) and connections to it. Each connection is a fresh SPDM connection over the
 * spdm-emu socket; the case's connections are closed when it ends (their sessions ended
 * first, so the responder releases what they held before the next case starts).
 */
import { randomBytes } from 'node:crypto';
import { requesterConfig } from '../spdm/config.ts';
import {
  type ConnectResult,
  type RequesterSession,
  SpdmErrorResponse,
  SpdmRequester,
} from '../spdm/requester/index.ts';
import { connectSpdmEmu, type SpdmEmuClient } from '../transport/spdm-emu-client.ts';
import { type Binding, TransportError } from '../transport/types.ts';
import { SPDM_ERROR } from '../wire/spdm/constants.ts';
import type { InterfaceId } from '../wire/tdisp/messages.ts';
import { CaseFailure, CaseSkip } from './case.ts';
import type { PskSpec } from './handshake.ts';
import {
  Bytes,
  describeIdeKm,
  describeTdisp,
  hex,
  ideKeyProg,
  ideKSet,
  type KeySlot,
  keySubStream,
  pciSigRequest,
  pciSigResponse,
  slotLabel,
  streamSlots,
  tdiStateName,
  tdispRequest,
  u32At,
  u64At,
} from './messages.ts';

export interface Target {
  host: string;
  port: number;
  binding: Binding;
  /** SPDM versions offered (default: what teeio speaks). */
  versions?: number[];
  /** Root certificates (DER); empty = trust the root the responder presents. */
  trust: Uint8Array[];
  /** The TDI the TDISP cases drive; absent = TDISP cases skip. */
  tdi?: InterfaceId;
  /** IDE stream the IDE_KM and TDISP cases key (default 0). */
  streamId: number;
  /** IDE_KM PortIndex (default 0). */
  portIndex: number;
  /** Deadline of each exchange (default 5000 ms). */
  timeoutMs: number;
  /** How long a request that must get no answer is waited on (default 1000 ms). */
  silenceMs: number;
  /** A pre-shared key the responder knows; absent = the PSK session cases skip. */
  psk?: PskSpec;
  /**
   * Longest a case may wait on purpose (the heartbeat cases wait twice the responder's
   * HeartbeatPeriod); cases that would wait longer skip. Default 5000 ms.
   */
  maxWaitMs?: number;
}

/** An answer to a PCI-SIG vendor-defined request. */
export type PciSigAnswer =
  | { kind: 'message'; protocolId: number; message: Uint8Array; bytes: Uint8Array }
  | { kind: 'spdm-error'; code: number; bytes: Uint8Array }
  | { kind: 'silent' }
  | { kind: 'other'; bytes: Uint8Array };

export function describeAnswer(a: PciSigAnswer, protocol: 'IDE_KM' | 'TDISP'): string {
  switch (a.kind) {
    case 'message':
      return protocol === 'TDISP' ? describeTdisp(a.message) : describeIdeKm(a.message);
    case 'spdm-error':
      return `SPDM ERROR 0x${a.code.toString(16).padStart(2, '0')}`;
    case 'silent':
      return 'no answer';
    default:
      return `a non-PCI-SIG answer`;
  }
}

const bytesOf = (a: PciSigAnswer): Uint8Array | undefined => ('bytes' in a ? a.bytes : undefined);

/** The ERROR response bytes an SpdmErrorResponse stands for. */
function errorBytes(version: number, e: SpdmErrorResponse): Uint8Array {
  return new Bytes()
    .u8(version)
    .u8(SPDM_ERROR)
    .u8(e.errorCode)
    .u8(e.errorData)
    .bytes(e.extendedData)
    .finish();
}

/** One connection to the responder, with the requester engine on it. */
export class Conn {
  private connected: ConnectResult | undefined;
  private live: RequesterSession | undefined;
  private authed = false;

  constructor(
    readonly target: Target,
    readonly client: SpdmEmuClient,
    readonly requester: SpdmRequester,
  ) {}

  /** Plain SPDM bytes in, the response bytes out (DOE padding kept), no engine involved. */
  async plain(request: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    const r = await this.client.exchange(
      { secured: false, bytes: request },
      timeoutMs ?? this.target.timeoutMs,
    );
    return r.bytes;
  }

  /** VCA through the engine (once). */
  async vca(): Promise<ConnectResult> {
    this.connected ??= await this.requester.connect();
    return this.connected;
  }

  get version(): number {
    const n = this.requester.negotiated;
    if (!n) throw new Error('not negotiated');
    return n.version;
  }

  get peerFlags(): number {
    return this.requester.negotiated?.peer.flags ?? 0;
  }

  /** VCA, GET_DIGESTS and the slot 0 chain, verified. */
  async authenticate(): Promise<void> {
    await this.vca();
    if (this.authed) return;
    await this.requester.getDigests();
    await this.requester.getCertificate(0);
    this.authed = true;
  }

  /** An established session (KEY_EXCHANGE + FINISH), opened once. */
  async session(): Promise<RequesterSession> {
    if (this.live) return this.live;
    await this.authenticate();
    this.live = await this.requester.startSession();
    return this.live;
  }

  /** Any SPDM request through the engine (in the session when `secured`); ERROR comes back as bytes. */
  async raw(request: Uint8Array, secured = false): Promise<Uint8Array> {
    const s = secured ? await this.session() : undefined;
    try {
      return await this.requester.sendRaw(request, s);
    } catch (e) {
      if (e instanceof SpdmErrorResponse) return errorBytes(request[0], e);
      throw e;
    }
  }

  /**
   * A PCI-SIG protocol message: in the session (default), or in the clear where silence
   * is an acceptable answer (waited for `silenceMs`, after which this connection is spent).
   */
  async pciSig(
    protocolId: number,
    message: Uint8Array,
    where: 'session' | 'clear' = 'session',
  ): Promise<PciSigAnswer> {
    await this.vca();
    const req = pciSigRequest(this.version, protocolId, message);
    let bytes: Uint8Array;
    if (where === 'clear') {
      try {
        bytes = await this.plain(req, this.target.silenceMs);
      } catch (e) {
        if (e instanceof TransportError && e.code === 'timeout') return { kind: 'silent' };
        throw e;
      }
    } else {
      bytes = await this.raw(req, true);
    }
    if (bytes.length >= 4 && bytes[1] === SPDM_ERROR)
      return { kind: 'spdm-error', code: bytes[2], bytes };
    const p = pciSigResponse(bytes);
    if (!p) return { kind: 'other', bytes };
    return { kind: 'message', protocolId: p.protocolId, message: p.message, bytes };
  }

  /** Ends the session (so the responder releases its keys and locks now) and closes. */
  async close(): Promise<void> {
    const s = this.live;
    this.live = undefined;
    if (s) {
      try {
        await this.requester.endSession(s);
      } catch {
        // the connection may be gone already; closing is what matters
      }
    }
    await this.requester.close().catch(() => undefined);
  }
}

/** TDISP requests on one connection's session, for one TDI. */
export class TdispOps {
  constructor(
    readonly conn: Conn,
    readonly tdi: InterfaceId,
  ) {}

  /** Sends a TDISP request and returns the TDISP message that came back. @throws CaseFailure otherwise. */
  async send(
    code: number,
    body?: Uint8Array,
    o: { version?: number; tdi?: InterfaceId } = {},
  ): Promise<Uint8Array> {
    const req = tdispRequest(code, o.tdi ?? this.tdi, body, o.version);
    const a = await this.conn.pciSig(1, req);
    if (a.kind !== 'message' || a.protocolId !== 1) {
      throw new CaseFailure('a TDISP response', describeAnswer(a, 'TDISP'), bytesOf(a));
    }
    return a.message;
  }

  /** GET_DEVICE_INTERFACE_STATE. */
  async state(): Promise<number> {
    const m = await this.send(0x85);
    if (m[1] !== 0x05 || m.length < 17) {
      throw new CaseFailure('DEVICE_INTERFACE_STATE', describeTdisp(m), m);
    }
    return m[16];
  }

  /** Fails unless the TDI is in `want` (a state number). */
  async expectState(want: number, when: string): Promise<void> {
    const got = await this.state();
    if (got !== want) {
      throw new CaseFailure(`${tdiStateName(want)} ${when}`, tdiStateName(got));
    }
  }

  async stop(): Promise<Uint8Array> {
    return this.send(0x87);
  }

  /** LOCK_INTERFACE_REQUEST: flags, default stream, MMIO reporting offset, P2P mask. */
  lockBody(
    o: { flags?: number; streamId?: number; mmioReportingOffset?: bigint } = {},
  ): Uint8Array {
    return new Bytes()
      .u16(o.flags ?? 0)
      .u8(o.streamId ?? this.conn.target.streamId)
      .u8(0)
      .u64(o.mmioReportingOffset ?? 0n)
      .u64(0n)
      .finish();
  }

  async lock(
    o: { flags?: number; streamId?: number; mmioReportingOffset?: bigint } = {},
  ): Promise<Uint8Array> {
    return this.send(0x83, this.lockBody(o));
  }

  /** LOCK that must succeed; returns the START_INTERFACE_NONCE. */
  async mustLock(o: { flags?: number; mmioReportingOffset?: bigint } = {}): Promise<Uint8Array> {
    const m = await this.lock(o);
    if (m[1] !== 0x03 || m.length < 48)
      throw new CaseFailure('LOCK_INTERFACE_RESPONSE (setup)', describeTdisp(m), m);
    return m.slice(16, 48);
  }

  async start(nonce: Uint8Array): Promise<Uint8Array> {
    return this.send(0x86, nonce);
  }

  async mustStart(nonce: Uint8Array): Promise<void> {
    const m = await this.start(nonce);
    if (m[1] !== 0x06)
      throw new CaseFailure('START_INTERFACE_RESPONSE (setup)', describeTdisp(m), m);
  }

  async report(offset: number, length: number): Promise<Uint8Array> {
    return this.send(0x84, new Bytes().u16(offset).u16(length).finish());
  }

  /** The whole interface report, portion by portion (`length` per request). */
  async fullReport(length = 0x400): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (let i = 0; i < 1024; i++) {
      const m = await this.report(offset, length);
      if (m[1] !== 0x04) throw new CaseFailure('DEVICE_INTERFACE_REPORT', describeTdisp(m), m);
      const portion = m[16] | (m[17] << 8);
      const remainder = m[18] | (m[19] << 8);
      parts.push(m.slice(20, 20 + portion));
      offset += portion;
      if (remainder === 0) return Buffer.concat(parts);
      if (portion === 0)
        throw new CaseFailure(
          'a non-empty portion while RemainderLength > 0',
          'PortionLength 0',
          m,
        );
    }
    throw new CaseFailure('the report to end', 'over 1024 portions');
  }

  /** Back to CONFIG_UNLOCKED from wherever the TDI is (a previous case may have left it anywhere). */
  async reset(): Promise<void> {
    const s = await this.state();
    if (s === 0) return;
    const m = await this.stop();
    if (m[1] !== 0x07)
      throw new CaseFailure(
        `STOP_INTERFACE_RESPONSE from ${tdiStateName(s)} (setup)`,
        describeTdisp(m),
        m,
      );
  }
}

/** MMIO ranges of an interface report: FirstPage u64 per range (after the 16-byte fixed part). */
export function reportRanges(
  report: Uint8Array,
): { firstPage: bigint; pages: number; attributes: number }[] {
  const count = u32At(report, 12);
  const out: { firstPage: bigint; pages: number; attributes: number }[] = [];
  for (let i = 0; i < count && 16 + 16 * (i + 1) <= report.length; i++) {
    const o = 16 + 16 * i;
    out.push({
      firstPage: u64At(report, o),
      pages: u32At(report, o + 8),
      attributes: report[o + 12] | (report[o + 13] << 8),
    });
  }
  return out;
}

/** IDE_KM requests on one connection's session. */
export class IdeKmOps {
  constructor(readonly conn: Conn) {}

  get portIndex(): number {
    return this.conn.target.portIndex;
  }

  async send(message: Uint8Array): Promise<PciSigAnswer> {
    return this.conn.pciSig(0, message);
  }

  /** The IDE_KM object that came back. @throws CaseFailure when none did. */
  async object(message: Uint8Array, expect: string): Promise<Uint8Array> {
    const a = await this.send(message);
    if (a.kind !== 'message' || a.protocolId !== 0)
      throw new CaseFailure(expect, describeAnswer(a, 'IDE_KM'), bytesOf(a));
    return a.message;
  }

  /** KEY_PROG with fresh random key and IFV; returns the KP_ACK. */
  async keyProg(
    streamId: number,
    slot: KeySlot,
    o: { portIndex?: number; kss?: number; trim?: number } = {},
  ): Promise<Uint8Array> {
    let m = ideKeyProg(
      streamId,
      o.kss ?? keySubStream(slot),
      o.portIndex ?? this.portIndex,
      randomBytes(32),
      randomBytes(8),
    );
    if (o.trim) m = m.slice(0, m.length - o.trim);
    return this.object(m, 'KP_ACK');
  }

  async kSet(
    go: boolean,
    streamId: number,
    slot: KeySlot,
    portIndex = this.portIndex,
  ): Promise<Uint8Array> {
    return this.object(ideKSet(go, streamId, keySubStream(slot), portIndex), 'K_GOSTOP_ACK');
  }

  /** KEY_PROG + K_SET_GO of all six slots of key set 0 (setup for TDISP cases). */
  async keyStream(streamId = this.conn.target.streamId): Promise<void> {
    for (const slot of streamSlots(0)) {
      const ack = await this.keyProg(streamId, slot);
      if (ack[0] !== 0x03 || ack[4] !== 0) {
        throw new CaseFailure(
          `KP_ACK Success for ${slotLabel(slot)} (setup)`,
          describeIdeKm(ack),
          ack,
        );
      }
      const go = await this.kSet(true, streamId, slot);
      if (go[0] !== 0x06)
        throw new CaseFailure(`K_GOSTOP_ACK for ${slotLabel(slot)} (setup)`, describeIdeKm(go), go);
    }
  }
}

/** What a case is given. */
export class CaseContext {
  private readonly conns: Conn[] = [];

  constructor(readonly target: Target) {}

  /**
   * A fresh connection (TEST hello done, nothing else sent). `capabilities` replaces the
   * requester's CAPABILITIES flags; `timeoutMs` and `retries` the engine's deadline and
   * retries (e.g. to see quickly that a request is not answered).
   */
  async open(
    o: {
      versions?: number[];
      binding?: Binding;
      capabilities?: number;
      timeoutMs?: number;
      retries?: number;
    } = {},
  ): Promise<Conn> {
    const t = this.target;
    const client = await connectSpdmEmu({
      host: t.host,
      port: t.port,
      transportType: o.binding ?? t.binding,
      timeoutMs: t.timeoutMs,
    });
    const versions = o.versions ?? t.versions;
    const requester = new SpdmRequester(
      client,
      requesterConfig({
        trustAnchors: t.trust,
        ...(versions ? { versions } : {}),
        ...(o.capabilities !== undefined ? { capabilities: o.capabilities } : {}),
      }),
      { timeoutMs: o.timeoutMs ?? t.timeoutMs, retries: o.retries ?? 1 },
    );
    const c = new Conn(t, client, requester);
    this.conns.push(c);
    return c;
  }

  /** The TDI under test. @throws CaseSkip without --tdi. */
  get tdi(): InterfaceId {
    if (!this.target.tdi) throw new CaseSkip('no TDI named (--tdi)');
    return this.target.tdi;
  }

  /**
   * A session on a fresh connection, the stream keyed (unless `keys: false`) and the TDI
   * back in CONFIG_UNLOCKED: the start of every TDISP case.
   */
  async tdisp(o: { keys?: boolean } = {}): Promise<{ conn: Conn; tdisp: TdispOps; ide: IdeKmOps }> {
    const tdi = this.tdi;
    const conn = await this.open();
    await conn.session();
    const tdisp = new TdispOps(conn, tdi);
    const ide = new IdeKmOps(conn);
    await tdisp.reset();
    if (o.keys ?? true) await ide.keyStream();
    return { conn, tdisp, ide };
  }

  /** A TDI in RUN, the stream keyed on this session. */
  async running(): Promise<{ conn: Conn; tdisp: TdispOps; ide: IdeKmOps }> {
    const r = await this.tdisp();
    const nonce = await r.tdisp.mustLock();
    await r.tdisp.mustStart(nonce);
    return r;
  }

  async closeAll(): Promise<void> {
    for (const c of this.conns.splice(0)) await c.close();
  }
}

export { hex };
