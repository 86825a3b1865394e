/**
 * The spdm-emu platform socket protocol (DMTF spdm-emu spdm_emu_common/command.c, also
 * spoken by QEMU's spdm-socket backend); shared/reference/WIRE.md "spdm-emu socket".
 *
 * Frame: Command u32 BE | TransportType u32 BE | PayloadSize u32 BE | payload.
 * The payload is a whole DOE object (PCI_DOE) or an MCTP message (type byte + body).
 */
import { WireError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export const SOCKET_SPDM_COMMAND_NORMAL = 0x0001;
export const SOCKET_SPDM_COMMAND_OOB_ENCAP_KEY_UPDATE = 0x8001;
export const SOCKET_SPDM_COMMAND_OOB_ENCAP_ENDPOINT_INFO = 0x8002;
export const SOCKET_SPDM_COMMAND_CONTINUE = 0xfffd;
export const SOCKET_SPDM_COMMAND_SHUTDOWN = 0xfffe;
export const SOCKET_SPDM_COMMAND_UNKNOWN = 0xffff;
export const SOCKET_SPDM_COMMAND_TEST = 0xdead;

export const SOCKET_TRANSPORT_TYPE_NONE = 0;
export const SOCKET_TRANSPORT_TYPE_MCTP = 1;
export const SOCKET_TRANSPORT_TYPE_PCI_DOE = 2;
export const SOCKET_TRANSPORT_TYPE_TCP = 3;

/** spdm-emu's default port (DEFAULT_SPDM_PLATFORM_PORT). */
export const SOCKET_DEFAULT_PORT = 2323;
export const SOCKET_HEADER_SIZE = 12;
/**
 * Default payload limit: 64 KiB (spdm-emu's buffers) plus room for transport headers.
 * A frame announcing more is refused before anything is allocated for it.
 */
export const SOCKET_DEFAULT_MAX_PAYLOAD = 0x10000 + 0x100;

/** "Client Hello!" with its terminating NUL, as sizeof() sends it (14 bytes). */
export const SOCKET_CLIENT_HELLO: Uint8Array = new TextEncoder().encode('Client Hello!\0');
/** "Server Hello!" with its terminating NUL (14 bytes). */
export const SOCKET_SERVER_HELLO: Uint8Array = new TextEncoder().encode('Server Hello!\0');

export interface SocketFrame {
  command: number;
  transportType: number;
  payload: Uint8Array;
}

/** Encodes one frame. @throws RangeError when a field does not fit u32. */
export function encodeFrame(f: SocketFrame): Uint8Array {
  return new Writer(SOCKET_HEADER_SIZE + f.payload.length)
    .u32be(f.command, 'Command')
    .u32be(f.transportType, 'TransportType')
    .u32be(f.payload.length, 'PayloadSize')
    .bytes(f.payload)
    .finish();
}

export interface FrameLimits {
  /** Largest PayloadSize accepted (default SOCKET_DEFAULT_MAX_PAYLOAD). */
  maxPayload?: number;
}

/**
 * Decodes exactly one whole frame.
 * @throws WireError 'too-large' when PayloadSize exceeds the limit, 'truncated' / 'trailing'
 * when the bytes do not hold exactly one frame.
 */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits = {}): SocketFrame {
  const r = new Reader(bytes, 'SOCKET', 'frame');
  const command = r.u32be('Command');
  const transportType = r.u32be('TransportType');
  const size = r.u32be('PayloadSize');
  checkSize(size, limits.maxPayload ?? SOCKET_DEFAULT_MAX_PAYLOAD, 0);
  const payload = r.bytes(size, 'Payload');
  r.end();
  return { command, transportType, payload };
}

function checkSize(size: number, max: number, streamOffset: number): void {
  if (size > max) {
    throw new WireError(
      'SOCKET',
      'frame',
      'PayloadSize',
      streamOffset + 8,
      'too-large',
      `${size} bytes announced, limit ${max}`,
    );
  }
}

/**
 * Incremental frame parser for a byte stream: `push` each chunk as it arrives and get
 * back the frames it completed. Frames may be split at any byte and several may share a
 * chunk. It holds at most one frame: a 12-byte header buffer, then a payload buffer of
 * exactly the announced size, allocated only after the size passed the limit.
 *
 * After a WireError the stream is out of sync; the parser stays failed and every later
 * `push` rethrows, so the caller drops the connection.
 */
export class SocketFrameParser {
  private readonly maxPayload: number;
  private readonly header = new Uint8Array(SOCKET_HEADER_SIZE);
  private headerFill = 0;
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private command = 0;
  private transportType = 0;
  /** Bytes consumed so far, for error offsets. */
  private consumed = 0;
  private failed: WireError | undefined;

  constructor(limits: FrameLimits = {}) {
    this.maxPayload = limits.maxPayload ?? SOCKET_DEFAULT_MAX_PAYLOAD;
  }

  /** True while part of a frame has been received (a hang-up now is mid-frame). */
  get midFrame(): boolean {
    return this.headerFill > 0;
  }

  /** Bytes held for the incomplete frame. */
  get buffered(): number {
    return this.headerFill + this.payloadFill;
  }

  /**
   * Feeds one chunk; returns the frames completed by it, in order.
   * @throws WireError 'too-large' when a header announces more than the limit.
   */
  push(chunk: Uint8Array): SocketFrame[] {
    return this.pushUpTo(chunk, Number.POSITIVE_INFINITY).frames;
  }

  /**
   * Feeds `chunk` until `maxFrames` frames are complete: returns them and how many bytes of
   * `chunk` that took (feed the rest later). A server that bounds the frames it holds
   * parses no further ahead than it serves.
   * @throws WireError 'too-large' when a header announces more than the limit.
   */
  pushUpTo(chunk: Uint8Array, maxFrames: number): { frames: SocketFrame[]; used: number } {
    if (this.failed) throw this.failed;
    const out: SocketFrame[] = [];
    let at = 0;
    while (at < chunk.length && out.length < maxFrames) {
      if (this.headerFill < SOCKET_HEADER_SIZE) {
        const n = Math.min(SOCKET_HEADER_SIZE - this.headerFill, chunk.length - at);
        this.header.set(chunk.subarray(at, at + n), this.headerFill);
        this.headerFill += n;
        at += n;
        if (this.headerFill < SOCKET_HEADER_SIZE) break;
        const h = new Reader(this.header, 'SOCKET', 'frame', this.consumed);
        this.command = h.u32be('Command');
        this.transportType = h.u32be('TransportType');
        const size = h.u32be('PayloadSize');
        try {
          checkSize(size, this.maxPayload, this.consumed);
        } catch (e) {
          this.failed = e as WireError;
          throw e;
        }
        this.payload = new Uint8Array(size);
        this.payloadFill = 0;
      }
      const payload = this.payload!;
      const n = Math.min(payload.length - this.payloadFill, chunk.length - at);
      payload.set(chunk.subarray(at, at + n), this.payloadFill);
      this.payloadFill += n;
      at += n;
      if (this.payloadFill === payload.length) {
        out.push({ command: this.command, transportType: this.transportType, payload });
        this.consumed += SOCKET_HEADER_SIZE + payload.length;
        this.headerFill = 0;
        this.payload = undefined;
        this.payloadFill = 0;
      }
    }
    return { frames: out, used: at };
  }
}

/** Printable name of a socket command, for errors and traces. */
export function socketCommandName(command: number): string {
  switch (command) {
    case SOCKET_SPDM_COMMAND_NORMAL:
      return 'NORMAL';
    case SOCKET_SPDM_COMMAND_OOB_ENCAP_KEY_UPDATE:
      return 'OOB_ENCAP_KEY_UPDATE';
    case SOCKET_SPDM_COMMAND_OOB_ENCAP_ENDPOINT_INFO:
      return 'OOB_ENCAP_ENDPOINT_INFO';
    case SOCKET_SPDM_COMMAND_CONTINUE:
      return 'CONTINUE';
    case SOCKET_SPDM_COMMAND_SHUTDOWN:
      return 'SHUTDOWN';
    case SOCKET_SPDM_COMMAND_UNKNOWN:
      return 'UNKNOWN';
    case SOCKET_SPDM_COMMAND_TEST:
      return 'TEST';
    default:
      return `0x${command.toString(16).padStart(4, '0')}`;
  }
}
