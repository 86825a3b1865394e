/**
 * Every entry point of teeio that takes peer bytes, as a fuzz target with a seed corpus of
 * valid messages (STYLE.md convention 9: one fuzz entry per handler): the wire decoders, the
 * SPDM responder's message handler (every DISPATCH handler, in the clear and inside a
 * secured session), the requester's response handling (every call it makes, sendRaw
 * included), the DOE mailbox (whole objects and raw register writes) and the DSM's
 * vendor-defined handlers (IDE_KM, TDISP, CXL_IDE_KM, CXL TSP); and (fuzz-targets-config.ts)
 * the key log, scenario and policy readers and the TSM's TDISP / IDE_KM clients.
 *
 * The contract each target checks (DESIGN.md principle 4): a decoder returns or throws a
 * WireError; an engine never throws on peer bytes, answers ERROR for what it refuses and
 * keeps its state when it does, and a valid exchange after the garbage still works; the
 * requester ends a call with one of its typed errors. A break throws FuzzViolation.
 *
 * The corpus is what a real lifecycle put on the wire: teeio's requester, IDE_KM and TDISP
 * clients against the composed device over its DOE mailbox (test/device/integration/flow.ts),
 * captured at every layer. test/hardening/entry-points.test.ts lists the exported decoders of
 * src/wire and fails for one no target covers; scripts/fuzz.ts runs the targets for a time.
 */

import fc from 'fast-check';
import { CryptoError } from '../../src/crypto/errors.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { spdmEmu } from '../../src/device/profiles/index.ts';
import { requesterConfig } from '../../src/spdm/config.ts';
import {
  SpdmErrorResponse,
  SpdmUsageError,
  SpdmVerifyError,
} from '../../src/spdm/requester/errors.ts';
import { SpdmRequester } from '../../src/spdm/requester/requester.ts';
import type { RequesterData } from '../../src/spdm/requester/state.ts';
import { requesterAbort, requesterReceive } from '../../src/spdm/requester/step.ts';
import { DISPATCH } from '../../src/spdm/responder/dispatch.ts';
import type { SpdmResponder } from '../../src/spdm/responder/responder.ts';
import { SessionError } from '../../src/spdm/session.ts';
import { TranscriptFullError } from '../../src/spdm/transcript.ts';
import { encodeTransportPayload } from '../../src/transport/binding.ts';
import { doeDiscovery } from '../../src/transport/doe-discovery.ts';
import {
  PCI_DOE_CTRL,
  PCI_DOE_CTRL_ABORT,
  PCI_DOE_READ,
  PCI_DOE_STATUS,
  PCI_DOE_WRITE,
} from '../../src/transport/doe-mailbox.ts';
import { createInProcessPair } from '../../src/transport/in-process.ts';
import { TransportError } from '../../src/transport/types.ts';
import { VirtualClock } from '../../src/wire/clock.ts';
import * as cxlIdeKm from '../../src/wire/cxl-idekm/index.ts';
import { decodeCxlKeySubStream } from '../../src/wire/cxl-idekm/stream-fields.ts';
import * as cxlTsp from '../../src/wire/cxl-tsp/index.ts';
import {
  decodeDoeDiscoveryRequest,
  decodeDoeDiscoveryResponse,
  decodeDoeObject,
  encodeDoeDiscoveryRequest,
  encodeDoeObject,
  isDoeDiscovery,
  PCI_DOE_TYPE_DISCOVERY,
  PCI_DOE_VENDOR_ID_PCISIG,
} from '../../src/wire/doe.ts';
import { WireError } from '../../src/wire/errors.ts';
import { concat } from '../../src/wire/hex.ts';
import { decodeIdeKm } from '../../src/wire/idekm/index.ts';
import { decodeKeySubStream } from '../../src/wire/idekm/stream-fields.ts';
import { decodeMctpMessage, decodeMctpTransportHeader } from '../../src/wire/mctp.ts';
import { decodePcap, encodePcap, LINKTYPE_PCI_DOE } from '../../src/wire/pcap.ts';
import {
  decodePldmControlRequest,
  decodePldmControlResponse,
  decodePldmMessage,
} from '../../src/wire/pldm/index.ts';
import {
  decodeSecuredAppData,
  decodeSecuredPlaintext,
  decodeSecuredRecord,
  doeSecuredRecordBytes,
} from '../../src/wire/secured.ts';
import {
  decodeFrame,
  encodeFrame,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_TRANSPORT_TYPE_PCI_DOE,
  SocketFrameParser,
} from '../../src/wire/socket.ts';
import { decodeCertChain } from '../../src/wire/spdm/cert-chain.ts';
import { type decodeSpdm, decodeSpdmHeader, decodeSpdmPadded } from '../../src/wire/spdm/codec.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { AlgorithmSizes, SpdmCodecContext } from '../../src/wire/spdm/context.ts';
import {
  decodeMeasurementRecord,
  encodeMeasurementRecord,
  type MeasurementBlock,
} from '../../src/wire/spdm/measurements.ts';
import { decodeOpaqueData, decodeSecuredMessageData } from '../../src/wire/spdm/opaque.ts';
import { decodePciSigPayload, type VendorDefined } from '../../src/wire/spdm/vendor-defined.ts';
import { decodeFunctionId, decodeTdispHeader } from '../../src/wire/tdisp/header.ts';
import { decodeTdisp } from '../../src/wire/tdisp/index.ts';
import {
  decodeInterfaceInfo,
  decodeInterfaceReport,
  decodeRangeAttributes,
} from '../../src/wire/tdisp/report.ts';
import type { RequesterTransport, TransportMessage } from '../../src/wire/transport.ts';
import { createTdispDevice, type TdispDevice } from '../../src/world/tdisp-device.ts';
import { enumerate, interfaceIdOf, tdispReq } from '../device/dsm/harness.ts';
import { runLifecycle } from '../device/integration/flow.ts';
import { configTargets } from './fuzz-targets-config.ts';
import { interfaceReportBytesArb } from './idekm-tdisp-arbitraries.ts';
import { nextRandom } from './robust.ts';

/** A broken contract: the message says which target, what it did and with what. */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
}

export interface FuzzTarget {
  name: string;
  /** The exported entry points (function or class names) this target drives. */
  covers: readonly string[];
  /** Valid inputs to mutate. */
  corpus: Uint8Array[];
  /**
   * Runs one hostile input derived from corpus[from].
   * @throws FuzzViolation when the contract broke
   */
  run(input: Uint8Array, from: number): void | Promise<void>;
  /** A valid exchange after the garbage (stateful targets). @throws FuzzViolation */
  check?(): Promise<void>;
  close?(): Promise<void>;
}

const errName = (e: unknown) =>
  e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e);

/** Runs a decoder: anything but a WireError is a violation. */
function wireOnly(target: string, f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (e instanceof WireError) return undefined;
    throw new FuzzViolation(`${target}: threw ${errName(e)}`, { cause: e });
  }
}

/** The errors an engine may end a call with on bad peer bytes. */
function typed(e: unknown): boolean {
  return (
    e instanceof WireError ||
    e instanceof SpdmVerifyError ||
    e instanceof SpdmErrorResponse ||
    e instanceof SpdmUsageError ||
    e instanceof TransportError ||
    e instanceof CryptoError ||
    e instanceof SessionError ||
    e instanceof TranscriptFullError
  );
}

function violation(target: string, what: string, e?: unknown): never {
  throw new FuzzViolation(`${target}: ${what}${e === undefined ? '' : ` (${errName(e)})`}`, {
    cause: e,
  });
}

/**
 * Deep equality of plain data as JSON.stringify would see it (a key holding undefined is an
 * absent key), but with byte arrays and Maps compared by content and without the text.
 */
export function samePlain(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlain(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !samePlain(v, b.get(k))) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k in ra) if (ra[k] !== undefined && !samePlain(ra[k], rb[k])) return false;
  for (const k in rb) if (rb[k] !== undefined && ra[k] === undefined) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// The capture: one whole lifecycle over the DOE mailbox, at every layer.

export interface Capture {
  /** Plain SPDM requests the responder received, and whether each came in a session. */
  requests: { bytes: Uint8Array; inSession: boolean }[];
  /** Plain SPDM responses the responder sent. */
  responses: Uint8Array[];
  /** Messages as the transport carried them (secured records for session traffic). */
  carried: TransportMessage[];
  /** PCI-SIG vendor-defined payloads (IDE_KM objects, TDISP messages) both ways. */
  vendor: { protocolId: number; message: Uint8Array; request: boolean }[];
  version: number;
  sizes: AlgorithmSizes;
  /** The device's certificate chain as SPDM carries it (CertChain with RootHash). */
  certChains: Uint8Array[];
  measurementRecords: Uint8Array[];
  opaque: Uint8Array[];
}

const P384: AlgorithmSizes = { hashSize: 48, signatureSize: 96, dheSize: 96 };

let captured: Promise<Capture> | undefined;

/** The lifecycle's traffic (built once per process). */
export function capture(): Promise<Capture> {
  captured ??= (async () => {
    const c: Capture = {
      requests: [],
      responses: [],
      carried: [],
      vendor: [],
      version: 0,
      sizes: P384,
      certChains: [],
      measurementRecords: [],
      opaque: [],
    };
    const dev = await createTdispDevice({
      random: seededRandom('fuzz capture'),
      onSpdmEvent: (e) => {
        if (e.type !== 'message' || e.role !== 'responder') return;
        if (e.direction === 'in') {
          c.requests.push({ bytes: e.bytes, inSession: e.sessionId !== undefined });
        } else c.responses.push(e.bytes);
      },
    });
    const inner = dev.doeTransport();
    const t: RequesterTransport = {
      binding: inner.binding,
      exchange: async (m, timeoutMs) => {
        const r = await inner.exchange(m, timeoutMs);
        c.carried.push(m, r);
        return r;
      },
      close: () => inner.close(),
    };
    await runLifecycle({ transport: t, dev, addresses: enumerate(dev.device) });
    c.version = c.requests.find((r) => r.bytes[1] === C.SPDM_GET_CAPABILITIES)?.bytes[0] ?? 0x12;
    const ctx: SpdmCodecContext = { version: c.version, sizes: c.sizes };
    for (const [bytes, request] of [
      ...c.requests.map((r) => [r.bytes, true] as const),
      ...c.responses.map((b) => [b, false] as const),
    ]) {
      let m: ReturnType<typeof decodeSpdm>;
      try {
        m = decodeSpdmPadded(bytes, ctx, 3).message;
      } catch {
        continue; // a response that needs its request to decode: not needed here
      }
      if (m.code === C.SPDM_VENDOR_DEFINED_REQUEST || m.code === C.SPDM_VENDOR_DEFINED_RESPONSE) {
        const p = decodePciSigPayload(m as VendorDefined);
        if (p) c.vendor.push({ ...p, request });
      }
      if (m.code === C.SPDM_CERTIFICATE) {
        const portion = (m as { certChain?: Uint8Array; portion?: Uint8Array }).certChain;
        if (portion) c.certChains.push(portion);
      }
      const blocks = (m as { blocks?: MeasurementBlock[] }).blocks;
      if (blocks?.length) c.measurementRecords.push(encodeMeasurementRecord(blocks));
      const op = (m as { opaqueData?: Uint8Array }).opaqueData;
      if (op?.length) c.opaque.push(op);
    }
    // The chain came in portions: the whole CertChain is their concatenation.
    c.certChains = c.certChains.length ? [concat(...c.certChains)] : [];
    return c;
  })();
  return captured;
}

// ---------------------------------------------------------------------------------------
// Wire decoders.

/** Valid encodings found by decoding random bytes under a fixed header (families without a capture). */
function searchValid(
  headers: Uint8Array[],
  decode: (b: Uint8Array) => unknown,
  want = 40,
): Uint8Array[] {
  const rnd = seededRandom('fuzz search');
  const out: Uint8Array[] = [];
  for (let i = 0; i < 200_000 && out.length < want; i++) {
    const h = headers[i % headers.length];
    const body = rnd(rnd(1)[0] % 96);
    const b = new Uint8Array(h.length + body.length);
    b.set(h);
    b.set(body, h.length);
    try {
      decode(b);
      out.push(b);
    } catch {
      // not a valid message: keep searching
    }
  }
  return out;
}

function wireTargets(c: Capture): FuzzTarget[] {
  const ctxs: SpdmCodecContext[] = [{}, { version: c.version, sizes: c.sizes }];
  const spdm = [...c.requests.map((r) => r.bytes), ...c.responses];
  const doeObjects = c.carried.map((m) => encodeTransportPayload('pci_doe', m));
  doeObjects.push(
    encodeDoeObject({
      vendorId: PCI_DOE_VENDOR_ID_PCISIG,
      type: PCI_DOE_TYPE_DISCOVERY,
      payload: encodeDoeDiscoveryRequest({ index: 0, version: 0 }),
    }),
  );
  const records = c.carried.filter((m) => m.secured).map((m) => m.bytes);
  const mctp = c.carried.slice(0, 40).map((m) => encodeTransportPayload('mctp', m));
  const vendorOf = (id: number) =>
    c.vendor.filter((v) => v.protocolId === id).map((v) => v.message);
  const ideKm = vendorOf(C.PCI_PROTOCOL_ID_IDE_KM);
  const tdisp = vendorOf(C.PCI_PROTOCOL_ID_TDISP);
  const pldm = searchValid(
    [Uint8Array.of(0x80, 0x00, 0x02), Uint8Array.of(0x00, 0x00, 0x02, 0x00)],
    decodePldmMessage,
  );
  const pcap = [
    encodePcap({
      header: { linkType: LINKTYPE_PCI_DOE, snapLen: 0x10000 },
      records: doeObjects.slice(0, 8).map((data, i) => ({ tsSec: i, tsFrac: 0, data })),
    }),
  ];
  const frames = doeObjects.map((payload) =>
    encodeFrame({
      command: SOCKET_SPDM_COMMAND_NORMAL,
      transportType: SOCKET_TRANSPORT_TYPE_PCI_DOE,
      payload,
    }),
  );
  const t = (
    name: string,
    covers: string[],
    corpus: Uint8Array[],
    run: (b: Uint8Array) => void,
  ): FuzzTarget => ({
    name,
    covers,
    corpus,
    run: (b) => void wireOnly(name, () => run(b)),
  });
  const each =
    (name: string, ...fs: ((b: Uint8Array) => unknown)[]) =>
    (b: Uint8Array) => {
      for (const f of fs) wireOnly(name, () => f(b));
    };
  return [
    t(
      'wire/doe',
      ['decodeDoeObject', 'decodeDoeDiscoveryRequest', 'decodeDoeDiscoveryResponse'],
      doeObjects,
      each(
        'wire/doe',
        (b) => {
          const o = decodeDoeObject(b);
          if (isDoeDiscovery(o)) decodeDoeDiscoveryRequest(o.payload);
        },
        (b) => decodeDoeDiscoveryRequest(b.subarray(8)),
        (b) => decodeDoeDiscoveryResponse(b.subarray(8)),
      ),
    ),
    t('wire/socket', ['decodeFrame', 'SocketFrameParser'], frames, (b) => {
      wireOnly('wire/socket', () => decodeFrame(b, { maxPayload: 0x10000 }));
      // The stream parser, the bytes split at a random point.
      const p = new SocketFrameParser({ maxPayload: 0x10000 });
      const at = nextRandom() % (b.length + 1);
      wireOnly('wire/socket stream', () => {
        p.push(b.subarray(0, at));
        p.push(b.subarray(at));
      });
    }),
    t(
      'wire/mctp',
      ['decodeMctpMessage', 'decodeMctpTransportHeader'],
      mctp,
      each('wire/mctp', decodeMctpMessage, decodeMctpTransportHeader),
    ),
    t(
      'wire/secured',
      ['decodeSecuredRecord', 'decodeSecuredPlaintext', 'decodeSecuredAppData'],
      records,
      each(
        'wire/secured',
        (b) => decodeSecuredRecord('pci_doe', b),
        (b) => decodeSecuredRecord('mctp', b),
        (b) => decodeSecuredPlaintext('pci_doe', b),
        (b) => decodeSecuredPlaintext('mctp', b),
        (b) => decodeSecuredAppData('mctp', b),
        (b) => doeSecuredRecordBytes(b),
      ),
    ),
    t(
      'wire/spdm',
      ['decodeSpdmHeader', 'decodeSpdm', 'decodeSpdmPadded', 'decodePciSigPayload'],
      spdm,
      (b) => {
        wireOnly('wire/spdm', () => decodeSpdmHeader(b));
        for (const ctx of ctxs) {
          const m = wireOnly('wire/spdm', () => decodeSpdmPadded(b, ctx, 3).message) as
            | ReturnType<typeof decodeSpdm>
            | undefined;
          if (m?.code === C.SPDM_VENDOR_DEFINED_REQUEST) {
            wireOnly('wire/spdm', () => decodePciSigPayload(m as VendorDefined));
          }
        }
      },
    ),
    t(
      'wire/spdm/opaque',
      ['decodeOpaqueData', 'decodeSecuredMessageData'],
      c.opaque,
      each(
        'wire/spdm/opaque',
        (b) => decodeOpaqueData(b, c.version),
        (b) => decodeOpaqueData(b, C.SPDM_VERSION_12),
        (b) => decodeSecuredMessageData(b),
      ),
    ),
    t('wire/spdm/cert-chain', ['decodeCertChain'], c.certChains, (b) => {
      decodeCertChain(b, c.sizes.hashSize);
    }),
    t('wire/spdm/measurements', ['decodeMeasurementRecord'], c.measurementRecords, (b) => {
      decodeMeasurementRecord(b);
    }),
    t('wire/idekm', ['decodeIdeKm'], ideKm, (b) => {
      decodeIdeKm(b);
    }),
    t(
      'wire/tdisp',
      ['decodeTdisp', 'decodeTdispHeader'],
      tdisp,
      each('wire/tdisp', decodeTdisp, decodeTdispHeader),
    ),
    t(
      'wire/tdisp/report',
      ['decodeInterfaceReport'],
      fc.sample(interfaceReportBytesArb, { numRuns: 30, seed: 1 }),
      (b) => {
        decodeInterfaceReport(b);
      },
    ),
    t(
      'wire/cxl-idekm',
      ['decodeCxlIdeKm'],
      searchValid(
        [0, 1, 2, 3, 4, 5, 6, 7, 8].map((id) => Uint8Array.of(id, 0)),
        cxlIdeKm.decodeCxlIdeKm,
      ),
      (b) => {
        cxlIdeKm.decodeCxlIdeKm(b);
      },
    ),
    t(
      'wire/cxl-tsp',
      ['decodeCxlTsp'],
      searchValid(
        [0x81, 0x01, 0x82, 0x02, 0x83, 0x03, 0x84, 0x04, 0x85, 0x05, 0x7f].map((op) =>
          Uint8Array.of(0x10, op, 0, 0),
        ),
        cxlTsp.decodeCxlTsp,
      ),
      (b) => {
        cxlTsp.decodeCxlTsp(b);
      },
    ),
    t(
      'wire/pldm',
      ['decodePldmMessage', 'decodePldmControlRequest', 'decodePldmControlResponse'],
      pldm,
      (b) => {
        const m = wireOnly('wire/pldm', () => decodePldmMessage(b)) as
          | { command: number; data?: Uint8Array; payload?: Uint8Array }
          | undefined;
        const data = b.subarray(3);
        const cmd = m?.command ?? b[2] ?? 0;
        wireOnly('wire/pldm', () => decodePldmControlRequest(cmd, data));
        wireOnly('wire/pldm', () => decodePldmControlResponse(cmd, data));
      },
    ),
    t('wire/pcap', ['decodePcap'], pcap, (b) => {
      decodePcap(b);
    }),
    {
      // Bit-field decoders are total: no input may make them throw at all.
      name: 'wire/bit-fields',
      covers: [
        'decodeKeySubStream',
        'decodeCxlKeySubStream',
        'decodeFunctionId',
        'decodeRangeAttributes',
        'decodeInterfaceInfo',
      ],
      corpus: [Uint8Array.of(0, 0, 0, 0), Uint8Array.of(0xff, 0xff, 0xff, 0xff)],
      run(b) {
        const v = b.length >= 4 ? new DataView(b.buffer, b.byteOffset).getUint32(0, true) : 0;
        try {
          decodeKeySubStream(v & 0xff);
          decodeCxlKeySubStream(v & 0xff);
          decodeFunctionId(v);
          decodeRangeAttributes(v);
          decodeInterfaceInfo(v & 0xffff);
        } catch (e) {
          violation('wire/bit-fields', `0x${v.toString(16)} threw`, e);
        }
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------
// The SPDM responder: every handler, in the clear and inside an established session.

/** A device, a responder connection of its own, and a requester with a session on it. */
async function sessionPair(seed: string) {
  // Model time stands still: the heartbeat watchdog (twice HeartbeatPeriod) would otherwise
  // end the snapshot's session once a long run has gone on for minutes of wall time, and
  // every later input would see a different responder.
  const dev = await createTdispDevice({
    random: seededRandom(seed),
    responderConfig: { now: () => 0 },
  });
  let responder: SpdmResponder = dev.newResponder('pci_doe');
  const transport = createInProcessPair('pci_doe', async (m) => responder.handle(m));
  const config = requesterConfig({ trustAnchors: [dev.root], random: seededRandom(`${seed} rq`) });
  const rq = new SpdmRequester(transport, config, { retries: 0 });
  await rq.connect();
  await rq.getDigests();
  await rq.getCertificate(0);
  const session = await rq.startSession();
  // B again (KEY_EXCHANGE emptied it): a refusal that wrongly resets it then shows in
  // CHALLENGE's signature.
  await rq.getDigests();
  await rq.getCertificate(0);
  return {
    dev,
    get responder() {
      return responder;
    },
    set responder(r: SpdmResponder) {
      responder = r;
    },
    transport,
    config,
    rq,
    sessionId: session.id,
  };
}

const GET_DIGESTS = (v: number) => Uint8Array.of(v, C.SPDM_GET_DIGESTS, 0, 0);

/** Error codes after which a responder rightly changed its state (a session torn down). */
const TEARDOWN = new Set<number>([
  C.SPDM_ERROR_CODE.DecryptError,
  C.SPDM_ERROR_CODE.RequestResynch,
]);

async function responderTarget(c: Capture): Promise<FuzzTarget> {
  const name = 'spdm/responder';
  const p = await sessionPair('fuzz responder');
  const rqSnap = p.rq.stateSnapshot();
  const rspSnap = p.responder.stateSnapshot();
  const v = c.version;
  // Every request the lifecycle sent, plus the header of every code DISPATCH knows (and an
  // unknown one), each tried in the clear and in the session.
  const corpus = [
    ...c.requests.map((r) => r.bytes),
    ...Object.keys(DISPATCH).map((k) => Uint8Array.of(v, Number(k), 0, 0)),
    Uint8Array.of(v, 0x85, 0, 0),
  ];
  // The requester engine copies its state on every step and never writes to the one it was
  // given, so every input resumes from the same snapshot, uncopied (check() verifies that).
  const rqPristine = structuredClone(rqSnap);
  const resume = () => {
    p.responder.restore(rspSnap);
    return SpdmRequester.resume(p.transport, p.config, rqSnap, { retries: 0 });
  };
  /** GET_DIGESTS in the clear, or in the session: the connection still serves. */
  const stillServes = async (rq: SpdmRequester, inSession: boolean, why: string) => {
    let r: Uint8Array;
    try {
      r = await rq.sendRaw(GET_DIGESTS(v), inSession ? p.sessionId : undefined);
    } catch (e) {
      return violation(name, `a valid GET_DIGESTS after ${why} failed`, e);
    }
    if (r[1] !== C.SPDM_DIGESTS)
      violation(name, `GET_DIGESTS after ${why} answered 0x${r[1]?.toString(16)}`);
  };
  let refusals = 0;
  // What the connection state is after restore(rspSnap), so after a refusal.
  const before = rspSnap.connection;
  return {
    name,
    covers: [
      'SpdmResponder.handle',
      ...Object.keys(DISPATCH).map((k) => `DISPATCH[0x${Number(k).toString(16)}]`),
    ],
    corpus,
    async run(input) {
      const inSession = (nextRandom() & 1) === 1;
      let rq: SpdmRequester | undefined;
      let errorCode: number;
      if (inSession) {
        // In the session the requester seals the bytes and opens the answer.
        rq = resume();
        try {
          await rq.sendRaw(input, p.sessionId);
          return; // answered: whatever it did may have changed the state legitimately
        } catch (e) {
          if (!typed(e)) violation(name, 'sendRaw of a hostile secured request', e);
          if (!(e instanceof SpdmErrorResponse)) return;
          errorCode = e.errorCode;
        }
      } else {
        // In the clear the bytes go to the handler under test as they are (no requester in
        // between, which would refuse some of them before they are sent).
        p.responder.restore(rspSnap);
        let answer: TransportMessage | undefined;
        try {
          answer = p.responder.handle({ secured: false, bytes: input });
        } catch (e) {
          return violation(name, 'handle threw on a hostile plain request', e);
        }
        if (answer?.secured) violation(name, 'a plain request was answered with a record');
        const r = answer?.bytes;
        if (!r || r.length < 4 || r[1] !== C.SPDM_ERROR) return; // answered (or silent)
        errorCode = r[2];
      }
      const code = input.length >= 2 ? input[1] : 0;
      if (TEARDOWN.has(errorCode) || code === C.SPDM_GET_VERSION) return;
      const refused = `ERROR ${C.spdmErrorName(errorCode)}`;
      if (!inSession) {
        // A refusal in the clear leaves the whole state as it was: the connection state, the
        // transcripts (A, B, C, M), the sessions. The responder is a function of its state, so
        // this also says that CHALLENGE, whose signature covers the transcript, would verify
        // as it did before; every eighth refusal runs one all the same.
        const after = p.responder.stateSnapshot();
        if (!samePlain(after, rspSnap)) {
          const what = Object.keys(rspSnap).filter(
            (k) => !samePlain(after[k as keyof typeof after], rspSnap[k as keyof typeof rspSnap]),
          );
          violation(name, `${refused} to 0x${code.toString(16)} changed ${what.join(', ')}`);
        }
        if (++refusals % 8 === 0) {
          try {
            await SpdmRequester.resume(p.transport, p.config, rqSnap, { retries: 0 }).challenge(0);
          } catch (c) {
            violation(name, `CHALLENGE after ${refused} failed`, c);
          }
        }
        return;
      }
      // In the session the record counters moved (as they must): the connection state stays
      // and the session still serves.
      const after = p.responder.state;
      if (!samePlain(after, before)) {
        violation(
          name,
          `${refused} changed the connection state ${before.state} -> ${after.state}`,
        );
      }
      await stillServes(rq!, true, refused);
    },
    async check() {
      if (!samePlain(rqSnap, rqPristine)) violation(name, 'the requester wrote to its snapshot');
      const rq = resume();
      await stillServes(rq, false, 'the run');
      await stillServes(rq, true, 'the run');
    },
  };
}

/** Raw secured records (the DSP0277 layer): forged, replayed, truncated, wrong session. */
async function securedRecordTarget(c: Capture): Promise<FuzzTarget> {
  const name = 'spdm/responder/secured-record';
  const p = await sessionPair('fuzz records');
  const rqSnap = p.rq.stateSnapshot();
  const rspSnap = p.responder.stateSnapshot();
  const corpus = c.carried.filter((m, i) => m.secured && i % 2 === 0).map((m) => m.bytes);
  return {
    name,
    covers: ['SpdmResponder.handle (secured records)'],
    corpus,
    async run(input) {
      p.responder.restore(rspSnap);
      let answer: TransportMessage | undefined;
      try {
        answer = p.responder.handle({ secured: true, bytes: input });
      } catch (e) {
        violation(name, 'handle threw on a hostile record', e);
      }
      // Uncopied: the requester engine never writes to the state it was given.
      const rq = SpdmRequester.resume(p.transport, p.config, rqSnap, { retries: 0 });
      const alive = p.responder.sessions().some((s) => s.sessionId === p.sessionId);
      if (answer !== undefined) {
        // Only a record that claimed the session and did not open may be answered: with
        // ERROR(DecryptError), after which the session is gone (DSP0274; libspdm). The
        // ERROR goes out sealed with the session's keys before the teardown.
        if (alive) violation(name, 'a hostile record was answered and the session lives on');
      }
      try {
        // The session, if it lives, still works with the requester's keys; the connection
        // serves in the clear either way.
        if (alive) {
          const r = await rq.sendRaw(GET_DIGESTS(c.version), p.sessionId);
          if (r[1] !== C.SPDM_DIGESTS) violation(name, 'the session answered GET_DIGESTS wrongly');
        }
        const r = await rq.sendRaw(GET_DIGESTS(c.version));
        if (r[1] !== C.SPDM_DIGESTS) violation(name, 'GET_DIGESTS in the clear answered wrongly');
      } catch (e) {
        if (e instanceof FuzzViolation) throw e;
        violation(
          name,
          `the ${alive ? 'session' : 'connection'} did not survive a hostile record`,
          e,
        );
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// The SPDM requester: every response it handles, replayed with one of them mutated.

/** What the requester does in the script: calls, each a flow of its own. */
interface ScriptState {
  v: number;
  /** The session startSession opened (its id), for the calls after it. */
  session?: number;
}
const SCRIPT: ((rq: SpdmRequester, s: ScriptState) => Promise<unknown>)[] = [
  (rq) => rq.connect(),
  (rq) => rq.getDigests(),
  (rq) => rq.getCertificate(0),
  (rq) => rq.challenge(0),
  (rq) => rq.getMeasurements({ signed: true }),
  (rq, s) => rq.sendRaw(GET_DIGESTS(s.v)),
  async (rq, s) => {
    s.session = (await rq.startSession()).id;
  },
  (rq, s) => rq.getMeasurements({ session: s.session }),
  (rq, s) => rq.keyUpdate(s.session!),
  (rq, s) => rq.sendRaw(GET_DIGESTS(s.v), s.session),
  (rq, s) => rq.endSession(s.session!),
];
const START_SESSION = 6;

/** Runs the script's calls from `first` on. */
async function requesterScript(rq: SpdmRequester, s: ScriptState, first = 0): Promise<void> {
  for (let k = first; k < SCRIPT.length; k++) await SCRIPT[k](rq, s);
}

async function requesterTarget(c: Capture): Promise<FuzzTarget> {
  const name = 'spdm/requester';
  const seed = 'fuzz requester';
  const dev = await createTdispDevice({ random: seededRandom(seed) });
  const responder = dev.newResponder('pci_doe');
  const live = createInProcessPair('pci_doe', async (m) => responder.handle(m));
  // The recording: every reply, which call of the script it answered, and the requester's
  // state as it came (the call in flight, and the position of the random stream the rest of
  // the script draws from, carried in the state so that steps from it draw the same bytes).
  const replies: TransportMessage[] = [];
  const callOf: number[] = [];
  const waiting: RequesterData[] = [];
  const random = seededRandom(`${seed} rq`);
  const config = requesterConfig({ trustAnchors: [dev.root], random });
  let recorder: SpdmRequester | undefined;
  let call = 0;
  const recording: RequesterTransport = {
    binding: 'pci_doe',
    exchange: async (m, t) => {
      const r = await live.exchange(m, t);
      waiting.push({ ...recorder!.stateSnapshot(), random: random.state() });
      callOf.push(call);
      replies.push(r);
      return r;
    },
    close: async () => undefined,
  };
  recorder = new SpdmRequester(recording, config, { retries: 0 });
  const recorded: ScriptState = { v: c.version };
  for (call = 0; call < SCRIPT.length; call++) await SCRIPT[call](recorder, recorded);
  const options = { retries: 0 };
  /** The recorded replies from `next` on, as the transport of a requester. */
  const replay = (next: number): RequesterTransport => ({
    binding: 'pci_doe',
    exchange: async () => {
      if (next >= replies.length) throw new TransportError('closed', 'end of the recording');
      return replies[next++];
    },
    close: async () => undefined,
  });
  const ended = (e: unknown, from: number, what: string) => {
    if (!typed(e)) violation(name, `reply ${from} mutated: ${what}`, e);
  };
  return {
    name,
    covers: [
      'SpdmRequester.connect',
      'SpdmRequester.getDigests',
      'SpdmRequester.getCertificate',
      'SpdmRequester.challenge',
      'SpdmRequester.getMeasurements',
      'SpdmRequester.startSession',
      'SpdmRequester.keyUpdate',
      'SpdmRequester.sendRaw',
      'SpdmRequester.endSession',
      'requesterReceive',
    ],
    corpus: replies.map((r) => r.bytes),
    async run(input, from) {
      // The script as SpdmRequester runs it with reply `from` replaced by `input`, but started
      // at that reply: the engine steps (requesterReceive, requesterAbort) from the state the
      // requester was in when it came, instead of redoing every call before it (signatures,
      // chain checks and key schedule included) for each input. The rest of the call and of
      // the script then run on the recorded replies, as a replay of the whole script would.
      let i = from;
      let reply: TransportMessage = { secured: replies[from].secured, bytes: input };
      let state = waiting[from];
      let step: ReturnType<typeof requesterReceive>;
      for (;;) {
        try {
          step = requesterReceive(state, config, reply, options);
        } catch (e) {
          // SpdmRequester ends the call with requesterAbort and passes the error on.
          ended(e, from, 'the call threw');
          try {
            requesterAbort(state, config, e, reply, options);
          } catch (a) {
            ended(a, from, 'its abort threw');
          }
          return;
        }
        state = step.state;
        if (step.done) break;
        if (++i >= replies.length) {
          // The recording ran out: the transport's error, which ends the call.
          const e = new TransportError('closed', 'end of the recording');
          try {
            requesterAbort(state, config, e, undefined, options);
          } catch (a) {
            ended(a, from, 'its abort threw');
          }
          return;
        }
        reply = replies[i];
      }
      const k = callOf[from];
      const s: ScriptState = {
        v: c.version,
        session:
          k === START_SESSION
            ? (step.done.result as number)
            : k > START_SESSION
              ? recorded.session
              : undefined,
      };
      try {
        await requesterScript(
          SpdmRequester.resume(replay(i + 1), config, state, options),
          s,
          k + 1,
        );
      } catch (e) {
        ended(e, from, 'a later call threw');
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// The DOE mailbox: whole objects through the driver, and raw register writes.

async function doeTarget(c: Capture): Promise<FuzzTarget> {
  const name = 'transport/doe-mailbox';
  const dev = await createTdispDevice({ random: seededRandom('fuzz doe') });
  // The device answers at DOE Go or never (no Busy phase): an object it does not answer
  // (or that set DOE Error) is waited for to the driver's timeout and aborted. On a virtual
  // clock that wait is 20 polls, not 200 ms of wall time per such input.
  const t = dev.doeTransport({ timeoutMs: 200, pollIntervalMs: 10, clock: new VirtualClock() });
  const corpus = c.carried.map((m) => encodeTransportPayload('pci_doe', m));
  corpus.push(
    encodeDoeObject({
      vendorId: PCI_DOE_VENDOR_ID_PCISIG,
      type: PCI_DOE_TYPE_DISCOVERY,
      payload: encodeDoeDiscoveryRequest({ index: 0, version: 0 }),
    }),
  );
  const works = async (why: string) => {
    // The driver aborts after a failure; one retry covers a mailbox left mid-object.
    for (let attempt = 0; ; attempt++) {
      try {
        const list = await doeDiscovery(t);
        if (list.length !== 3) violation(name, `discovery after ${why} listed ${list.length}`);
        const r = await t.exchange({
          secured: false,
          bytes: Uint8Array.of(0x10, C.SPDM_GET_VERSION, 0, 0),
        });
        if (r.bytes[1] !== C.SPDM_VERSION)
          violation(name, `GET_VERSION after ${why} answered 0x${r.bytes[1]?.toString(16)}`);
        return;
      } catch (e) {
        if (e instanceof FuzzViolation) throw e;
        if (attempt >= 1) violation(name, `the mailbox does not serve after ${why}`, e);
      }
    }
  };
  let i = 0;
  return {
    name,
    covers: [
      'createDoeMailboxTransport',
      'DOE mailbox (device/pci/caps/doe.ts)',
      'decodeTransportPayload',
    ],
    corpus,
    async run(input) {
      if ((i++ & 1) === 0) {
        try {
          // The driver writes whole dwords (it refuses anything else with a RangeError, a
          // caller's mistake): the object as the device would see it, zero-padded.
          const object = new Uint8Array(Math.max(8, (input.length + 3) & ~3));
          object.set(input);
          await t.exchangeRaw!(object);
        } catch (e) {
          if (!typed(e)) violation(name, 'exchangeRaw of a hostile object', e);
        }
      } else {
        // The input as raw config writes: (register selector, dword) pairs, then reads.
        const regs = [PCI_DOE_CTRL, PCI_DOE_WRITE, PCI_DOE_READ, PCI_DOE_STATUS];
        try {
          for (let k = 0; k + 5 <= input.length; k += 5) {
            const reg = dev.doeOffset + regs[input[k] & 3];
            let value = new DataView(input.buffer, input.byteOffset + k + 1, 4).getUint32(0, true);
            if (regs[input[k] & 3] === PCI_DOE_CTRL) value = (value & ~PCI_DOE_CTRL_ABORT) >>> 0;
            dev.host.configWrite(0, reg, 4, value);
            dev.host.configRead(0, dev.doeOffset + PCI_DOE_STATUS, 4);
            dev.host.configRead(0, dev.doeOffset + PCI_DOE_READ, 4);
          }
        } catch (e) {
          violation(name, 'a config access to the DOE capability threw', e);
        }
      }
      if (i % 16 === 0) await works('hostile traffic');
    },
    check: () => works('the run'),
  };
}

// ---------------------------------------------------------------------------------------
// The DSM: IDE_KM, TDISP, CXL_IDE_KM and CXL TSP behind VENDOR_DEFINED, in a session.

async function dsmTarget(c: Capture): Promise<FuzzTarget> {
  const name = 'device/dsm';
  const dev: TdispDevice = await createTdispDevice({
    profile: spdmEmu,
    random: seededRandom('fuzz dsm'),
  });
  const dsm = dev.dsm;
  const base = dsm.snapshot();
  const session = { sessionId: 0xfffe_0001, spdmVersion: c.version, connectionId: 1 };
  type Kind = 'idekm' | 'tdisp' | 'cxl-idekm' | 'cxl-tsp';
  const kinds: Kind[] = [];
  const corpus: Uint8Array[] = [];
  const add = (k: Kind, bs: Uint8Array[]) => {
    for (const b of bs) {
      kinds.push(k);
      corpus.push(b);
    }
  };
  add(
    'idekm',
    c.vendor
      .filter((v) => v.request && v.protocolId === C.PCI_PROTOCOL_ID_IDE_KM)
      .map((v) => v.message),
  );
  add(
    'tdisp',
    c.vendor
      .filter((v) => v.request && v.protocolId === C.PCI_PROTOCOL_ID_TDISP)
      .map((v) => v.message),
  );
  add(
    'cxl-idekm',
    searchValid(
      [0, 2, 4, 6].map((id) => Uint8Array.of(id, 0)),
      cxlIdeKm.decodeCxlIdeKm,
      12,
    ),
  );
  add(
    'cxl-tsp',
    searchValid(
      [0x81, 0x82, 0x83, 0x84, 0x85].map((op) => Uint8Array.of(0x10, op, 0, 0)),
      cxlTsp.decodeCxlTsp,
      12,
    ),
  );
  const handler = (k: Kind) =>
    k === 'idekm'
      ? dsm.ideKmHandler
      : k === 'tdisp'
        ? dsm.tdispHandler
        : k === 'cxl-idekm'
          ? dsm.cxlIdeKmHandler
          : dsm.cxlTspHandler;
  const states = () =>
    dev
      .tdis()
      .map((t) => dsm.tdiState(t.fn))
      .join(',');
  const fn0 = dev.tdis()[0];
  const getState = tdispReq(0x85, interfaceIdOf(dev.device, fn0.fn));
  return {
    name,
    covers: ['Dsm.ideKmHandler', 'Dsm.tdispHandler', 'Dsm.cxlIdeKmHandler', 'Dsm.cxlTspHandler'],
    corpus,
    async run(input, from) {
      dsm.restore(base);
      const k = kinds[from];
      const inSession = (nextRandom() & 3) !== 0;
      const before = states();
      let r: ReturnType<typeof dsm.tdispHandler>;
      try {
        r = handler(k)(inSession ? session : { ...session, sessionId: undefined }, input);
      } catch (e) {
        return violation(name, `${k} handler threw`, e);
      }
      const refused =
        r.kind === 'spdm-error' ||
        (k === 'tdisp' && r.kind === 'response' && r.message[1] === 0x7f);
      if (refused && states() !== before) {
        violation(name, `a refused ${k} request changed TDI states ${before} -> ${states()}`);
      }
      if (inSession) {
        const s = dsm.tdispHandler(session, getState);
        if (s.kind !== 'response' || s.message[1] !== 0x05) {
          violation(
            name,
            `GET_DEVICE_INTERFACE_STATE after a hostile ${k} request: ${JSON.stringify(s.kind)}`,
          );
        }
      }
    },
  };
}

/** Every target, built once per call (the capture is shared). */
export async function fuzzTargets(): Promise<FuzzTarget[]> {
  const c = await capture();
  return [
    ...wireTargets(c),
    await responderTarget(c),
    await securedRecordTarget(c),
    await requesterTarget(c),
    await doeTarget(c),
    await dsmTarget(c),
    ...(await configTargets(c)),
  ];
}

/**
 * Reader-level helpers exported from src/wire that take a Reader (not bytes): each is reached
 * through the decoders named here, which the targets drive.
 */
export const REACHED_THROUGH: Readonly<Record<string, string>> = {
  readSessionHeader: 'decodeSpdm (KEY_UPDATE, HEARTBEAT, END_SESSION)',
  readSummaryHash: 'decodeSpdm (KEY_EXCHANGE_RSP, PSK_EXCHANGE_RSP)',
  readRequesterContext: 'decodeSpdm (CHALLENGE, GET_MEASUREMENTS at 1.3)',
  readOpaque: 'decodeSpdm (every message with OpaqueData)',
  readSized: 'decodeSpdm (hash, signature and exchange-data sized fields)',
  readHeader: 'decodeSpdm (every message)',
  readCxlStreamFields: 'decodeCxlIdeKm',
  readDwords: 'decodeCxlIdeKm (KEY_PROG, GET_KEY_ACK)',
  readTdispHeader: 'decodeTdisp, decodeTdispHeader',
  readMmioRange: 'decodeInterfaceReport, decodeTdisp (SET_MMIO_ATTRIBUTE)',
  readStreamFields: 'decodeIdeKm',
  decodeYamlConfig: 'not peer bytes: configuration text (test/wire/yaml-config.test.ts)',
};
