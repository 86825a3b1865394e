/**
 * The TSM's TDISP requester (PCIe 6.x chapter 11, TEE Device Interface Security Protocol):
 * GET_TDISP_VERSION, GET_TDISP_CAPABILITIES, GET_DEVICE_INTERFACE_STATE,
 * LOCK_INTERFACE_REQUEST, GET_DEVICE_INTERFACE_REPORT (the portion loop, then the decoded
 * report), START_INTERFACE_REQUEST, STOP_INTERFACE_REQUEST, BIND_P2P_STREAM_REQUEST,
 * UNBIND_P2P_STREAM_REQUEST and SET_MMIO_ATTRIBUTE_REQUEST, over an SPDM secured session.
 *
 * Each response must be the one its request calls for, for the same InterfaceID and TDISP
 * major version 1; a TDISP_ERROR becomes a TdispErrorResponse naming the code.
 */
import {
  DEFAULT_LOCK_FLAGS,
  PCI_PROTOCOL_ID_TDISP,
  PCI_TDISP_BIND_P2P_STREAM_REQ,
  PCI_TDISP_BIND_P2P_STREAM_RSP,
  PCI_TDISP_CAPABILITIES,
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_DEVICE_INTERFACE_STATE,
  PCI_TDISP_ERROR,
  PCI_TDISP_GET_CAPABILITIES,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_MESSAGE_VERSION,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
  PCI_TDISP_START_INTERFACE_NONCE_SIZE,
  PCI_TDISP_START_INTERFACE_REQ,
  PCI_TDISP_START_INTERFACE_RSP,
  PCI_TDISP_STOP_INTERFACE_REQ,
  PCI_TDISP_STOP_INTERFACE_RSP,
  PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  PCI_TDISP_UNBIND_P2P_STREAM_RSP,
  PCI_TDISP_VERSION,
  TDI_STATE_NAMES,
  tdispMessageName,
} from '../../wire/tdisp/constants.ts';
import {
  decodeFunctionId,
  decodeTdisp,
  encodeTdisp,
  type InterfaceId,
  type TdispCapabilities,
  type TdispRequest,
  type TdispResponse,
} from '../../wire/tdisp/messages.ts';
import {
  DEFAULT_REPORT_PORTION_LENGTH,
  decodeInterfaceReport,
  type InterfaceReport,
  type MmioRange,
  ReportAssembler,
} from '../../wire/tdisp/report.ts';
import { decodeResponse, TdispErrorResponse, TsmProtocolError } from './errors.ts';
import { type SecuredChannel, sendPciSig } from './pci-sig.ts';

/** A TDI: its InterfaceID, or the FunctionID u32 (requester id, segment, segment valid). */
export type TdiRef = InterfaceId | number;

export interface LockOptions {
  /** LOCK_INTERFACE_FLAGS (default NO_FW_UPDATE | SYSTEM_CACHE_LINE_SIZE | LOCK_MSIX, as spdm-emu). */
  flags?: number;
  /** The IDE stream the TDI's T=1 traffic uses (default 0). */
  defaultStreamId?: number;
  /** Added to physical addresses in the report's FIRST_PAGE (default 0). */
  mmioReportingOffset?: bigint;
  bindP2PAddressMask?: bigint;
}

export interface TdispClientOptions {
  /** Length asked per GET_DEVICE_INTERFACE_REPORT (default 64, as spdm-emu). */
  portionLength?: number;
  /** Largest report accepted (default 64 KiB). */
  maxReportLength?: number;
}

/** A TDI state as the DSM reported it: the number and its spec name. */
export interface TdiStateReport {
  state: number;
  name: string;
}

/** The fetched report: the bytes as reassembled, and decoded. */
export interface FetchedReport {
  bytes: Uint8Array;
  report: InterfaceReport;
}

export { DEFAULT_LOCK_FLAGS } from '../../wire/tdisp/constants.ts';

type Rsp<C extends number> = Extract<TdispResponse, { code: C }>;

function interfaceIdOf(t: TdiRef): InterfaceId {
  return typeof t === 'number' ? decodeFunctionId(t >>> 0) : t;
}

export class TdispClient {
  private readonly portionLength: number;
  private readonly maxReportLength: number;

  constructor(
    private readonly channel: SecuredChannel,
    opts: TdispClientOptions = {},
  ) {
    this.portionLength = opts.portionLength ?? DEFAULT_REPORT_PORTION_LENGTH;
    this.maxReportLength = opts.maxReportLength ?? 0x10000;
  }

  /**
   * Sends one request; returns the response of type `expect`.
   * @throws TdispErrorResponse on TDISP_ERROR; TsmProtocolError on any other mismatch.
   */
  private async send<C extends number>(req: TdispRequest, expect: C): Promise<Rsp<C>> {
    const name = tdispMessageName(req.code);
    const bytes = await sendPciSig(this.channel, PCI_PROTOCOL_ID_TDISP, encodeTdisp(req), name);
    const rsp = decodeResponse('TDISP', name, () => decodeTdisp(bytes));
    if (rsp.version >> 4 !== PCI_TDISP_MESSAGE_VERSION >> 4) {
      throw new TsmProtocolError(
        'TDISP',
        name,
        `response TDISPVersion 0x${rsp.version.toString(16)}`,
      );
    }
    // A TDISP_ERROR is reported whatever InterfaceID it names.
    if (rsp.code === PCI_TDISP_ERROR) {
      throw new TdispErrorResponse(
        req.code,
        rsp.errorCode,
        rsp.errorData,
        rsp.extendedErrorData ?? new Uint8Array(),
      );
    }
    const a = rsp.interfaceId;
    const b = req.interfaceId;
    if (
      a.requesterId !== b.requesterId ||
      a.segment !== b.segment ||
      a.segmentValid !== b.segmentValid
    ) {
      throw new TsmProtocolError(
        'TDISP',
        name,
        `response is for interface 0x${a.requesterId.toString(16)}, sent 0x${b.requesterId.toString(16)}`,
      );
    }
    if (rsp.code !== expect) {
      throw new TsmProtocolError(
        'TDISP',
        name,
        `answered with ${tdispMessageName(rsp.code)}, expected ${tdispMessageName(expect)}`,
      );
    }
    return rsp as Rsp<C>;
  }

  private header(tdi: TdiRef) {
    return { version: PCI_TDISP_MESSAGE_VERSION, interfaceId: interfaceIdOf(tdi) };
  }

  /** GET_TDISP_VERSION: the version bytes (major << 4 | minor) the DSM supports. */
  async getVersion(tdi: TdiRef): Promise<number[]> {
    const r = await this.send(
      { ...this.header(tdi), code: PCI_TDISP_GET_VERSION },
      PCI_TDISP_VERSION,
    );
    if (!r.versions.some((v) => v >> 4 === PCI_TDISP_MESSAGE_VERSION >> 4)) {
      throw new TsmProtocolError('TDISP', 'GET_TDISP_VERSION', 'no TDISP 1.x version offered');
    }
    return [...r.versions];
  }

  /** GET_TDISP_CAPABILITIES with the TSM's TSM_CAPS. */
  getCapabilities(tdi: TdiRef, tsmCaps = 0): Promise<TdispCapabilities> {
    return this.send(
      { ...this.header(tdi), code: PCI_TDISP_GET_CAPABILITIES, tsmCaps },
      PCI_TDISP_CAPABILITIES,
    );
  }

  /** GET_DEVICE_INTERFACE_STATE. */
  async getState(tdi: TdiRef): Promise<TdiStateReport> {
    const r = await this.send(
      { ...this.header(tdi), code: PCI_TDISP_GET_DEVICE_INTERFACE_STATE },
      PCI_TDISP_DEVICE_INTERFACE_STATE,
    );
    return { state: r.tdiState, name: TDI_STATE_NAMES[r.tdiState] ?? `UNKNOWN(${r.tdiState})` };
  }

  /**
   * LOCK_INTERFACE_REQUEST: returns START_INTERFACE_NONCE.
   * @throws TsmProtocolError when the nonce is not 32 bytes (the codec fixes its size).
   */
  async lock(tdi: TdiRef, o: LockOptions = {}): Promise<Uint8Array> {
    const r = await this.send(
      {
        ...this.header(tdi),
        code: PCI_TDISP_LOCK_INTERFACE_REQ,
        flags: o.flags ?? DEFAULT_LOCK_FLAGS,
        defaultStreamId: o.defaultStreamId ?? 0,
        mmioReportingOffset: o.mmioReportingOffset ?? 0n,
        bindP2PAddressMask: o.bindP2PAddressMask ?? 0n,
      },
      PCI_TDISP_LOCK_INTERFACE_RSP,
    );
    if (r.startInterfaceNonce.length !== PCI_TDISP_START_INTERFACE_NONCE_SIZE) {
      throw new TsmProtocolError('TDISP', 'LOCK_INTERFACE_REQUEST', 'nonce is not 32 bytes');
    }
    return r.startInterfaceNonce.slice();
  }

  /**
   * GET_DEVICE_INTERFACE_REPORT in portions until RemainderLength is 0, then the decoded
   * report.
   * @throws TsmProtocolError when a portion is inconsistent or the report does not decode.
   */
  async getReport(tdi: TdiRef): Promise<FetchedReport> {
    const name = 'GET_DEVICE_INTERFACE_REPORT';
    const asm = new ReportAssembler({
      portionLength: this.portionLength,
      maxLength: this.maxReportLength,
    });
    let whole: Uint8Array | undefined;
    for (let next = asm.nextRequest(); next; next = asm.nextRequest()) {
      const r = await this.send(
        { ...this.header(tdi), code: PCI_TDISP_GET_DEVICE_INTERFACE_REPORT, ...next },
        PCI_TDISP_DEVICE_INTERFACE_REPORT,
      );
      whole = decodeResponse('TDISP', name, () =>
        asm.add({ portion: r.portion, remainderLength: r.remainderLength }, next.length),
      );
    }
    const bytes = whole ?? new Uint8Array();
    return decodeResponse(
      'TDISP',
      name,
      () => ({ bytes, report: decodeInterfaceReport(bytes) }),
      'report: ',
    );
  }

  /** START_INTERFACE_REQUEST with the nonce LOCK returned. */
  async start(tdi: TdiRef, nonce: Uint8Array): Promise<void> {
    await this.send(
      { ...this.header(tdi), code: PCI_TDISP_START_INTERFACE_REQ, startInterfaceNonce: nonce },
      PCI_TDISP_START_INTERFACE_RSP,
    );
  }

  /** STOP_INTERFACE_REQUEST. */
  async stop(tdi: TdiRef): Promise<void> {
    await this.send(
      { ...this.header(tdi), code: PCI_TDISP_STOP_INTERFACE_REQ },
      PCI_TDISP_STOP_INTERFACE_RSP,
    );
  }

  /** BIND_P2P_STREAM_REQUEST (TDISP 1.0 layout). */
  async bindP2P(tdi: TdiRef, p2pStreamId: number): Promise<void> {
    await this.send(
      { ...this.header(tdi), code: PCI_TDISP_BIND_P2P_STREAM_REQ, p2pStreamId },
      PCI_TDISP_BIND_P2P_STREAM_RSP,
    );
  }

  /** UNBIND_P2P_STREAM_REQUEST. */
  async unbindP2P(tdi: TdiRef, p2pStreamId: number): Promise<void> {
    await this.send(
      { ...this.header(tdi), code: PCI_TDISP_UNBIND_P2P_STREAM_REQ, p2pStreamId },
      PCI_TDISP_UNBIND_P2P_STREAM_RSP,
    );
  }

  /** SET_MMIO_ATTRIBUTE_REQUEST for one range. */
  async setMmioAttribute(tdi: TdiRef, mmioRange: MmioRange): Promise<void> {
    await this.send(
      { ...this.header(tdi), code: PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ, mmioRange },
      PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
    );
  }
}
