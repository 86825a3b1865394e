/**
 * Requester side of the spdm-emu platform socket (DMTF spdm-emu spdm_requester_emu, and what
 * QEMU's spdm-socket backend connects to): TCP, frames from wire/socket.ts.
 *
 * Session: connect, TEST "Client Hello!\0" -> TEST "Server Hello!\0", then one NORMAL frame
 * per message each way, and SHUTDOWN (echoed) on close. A frame of another transport type,
 * an oversized frame, or a hang-up inside a frame fails the connection. After a timeout the
 * stream may still deliver the late reply, which would be taken for the next one, so a
 * timeout also fails the connection: open a new one to go on.
 */
import { connect, type Socket } from 'node:net';
import { WireError } from '../wire/errors.ts';
import {
  encodeFrame,
  SOCKET_CLIENT_HELLO,
  SOCKET_DEFAULT_PORT,
  SOCKET_SERVER_HELLO,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_SPDM_COMMAND_SHUTDOWN,
  SOCKET_SPDM_COMMAND_TEST,
  type SocketFrame,
  SocketFrameParser,
  socketCommandName,
} from '../wire/socket.ts';
import { socketTransportType } from './binding.ts';
import { exchangeMessage } from './exchange.ts';
import { serialQueue } from './serial.ts';
import {
  type Binding,
  type RequesterTransport,
  TransportError,
  type TransportMessage,
  type WireTap,
} from './types.ts';

export interface SpdmEmuClientOptions {
  host?: string; // default 127.0.0.1
  port?: number; // default 2323
  transportType: Binding;
  /** Default deadline for connecting, the hello and each exchange (default 10 s). */
  timeoutMs?: number;
  /** Largest frame payload accepted from the peer (default SOCKET_DEFAULT_MAX_PAYLOAD). */
  maxPayload?: number;
  /** Send the TEST hello first (default true; QEMU's spdm-socket client does not). */
  hello?: boolean;
  onWire?: WireTap;
}

export interface SpdmEmuClient extends RequesterTransport {
  exchangeRaw(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  /** Sends any socket command and resolves with the next frame (for tests and OOB commands). */
  command(command: number, payload?: Uint8Array, timeoutMs?: number): Promise<SocketFrame>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Frames nobody asked for that we hold before calling the peer broken. */
const MAX_UNREAD_FRAMES = 16;

/** Frames in from a socket, one waiter at a time; the first failure sticks. */
class FrameChannel {
  private readonly parser: SocketFrameParser;
  private readonly unread: SocketFrame[] = [];
  private waiter:
    | { resolve: (f: SocketFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
    | undefined;
  failure: TransportError | undefined;

  constructor(
    private readonly sock: Socket,
    private readonly transportType: number,
    maxPayload: number | undefined,
  ) {
    this.parser = new SocketFrameParser({ maxPayload });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.fail(new TransportError('closed', e.message, { cause: e })));
    sock.on('close', () =>
      this.fail(
        this.parser.midFrame
          ? new TransportError('hangup-mid-frame', 'the peer hung up inside a frame')
          : new TransportError('closed', 'the connection is closed'),
      ),
    );
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let frames: SocketFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      const why = e instanceof WireError ? e.message : String(e);
      this.fail(new TransportError('bad-payload', `frame from the peer: ${why}`, { cause: e }));
      return;
    }
    for (const f of frames) {
      if (f.transportType !== this.transportType) {
        this.fail(
          new TransportError(
            'transport-mismatch',
            `peer sent transport type ${f.transportType}, expected ${this.transportType}`,
          ),
        );
        return;
      }
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(f);
      } else if (this.unread.push(f) > MAX_UNREAD_FRAMES) {
        this.fail(new TransportError('unexpected-command', 'the peer sends frames unasked'));
        return;
      }
    }
  }

  /** Records the first failure, rejects the waiter and tears the socket down. */
  fail(e: TransportError): void {
    if (!this.failure) this.failure = e;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
    this.sock.destroy();
  }

  send(f: SocketFrame): void {
    if (this.failure) throw this.failure;
    this.sock.write(encodeFrame(f));
  }

  next(timeoutMs: number): Promise<SocketFrame> {
    const ready = this.unread.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TransportError('timeout', `no frame from the peer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new TransportError('timeout', `connecting to ${host}:${port} took over ${timeoutMs} ms`),
      );
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new TransportError('closed', `connecting to ${host}:${port}: ${e.message}`, { cause: e }),
      );
    });
  });
}

/**
 * Connects to an spdm-emu style responder and performs the TEST hello.
 * @throws TransportError 'timeout' / 'closed' when it cannot connect, 'handshake' when the
 * hello is not answered with the server hello, 'transport-mismatch' when the peer speaks
 * another transport type.
 */
export async function connectSpdmEmu(opts: SpdmEmuClientOptions): Promise<SpdmEmuClient> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? SOCKET_DEFAULT_PORT;
  const binding = opts.transportType;
  const transportType = socketTransportType(binding);
  const defaultTimeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sock = await openSocket(host, port, defaultTimeout);
  sock.setNoDelay(true);
  const ch = new FrameChannel(sock, transportType, opts.maxPayload);
  let closing: Promise<void> | undefined;
  let shutDown = false; // set when the queued close() starts; later exchanges fail

  // One request on the wire at a time: the socket protocol has no request ids.
  const serial = serialQueue();
  const roundTrip = async (command: number, payload: Uint8Array, timeoutMs?: number) => {
    if (shutDown) throw new TransportError('closed', 'the transport is closed');
    ch.send({ command, transportType, payload });
    return ch.next(timeoutMs ?? defaultTimeout);
  };

  if (opts.hello ?? true) {
    let reply: SocketFrame;
    try {
      reply = await roundTrip(SOCKET_SPDM_COMMAND_TEST, SOCKET_CLIENT_HELLO);
    } catch (e) {
      ch.fail(e as TransportError);
      const te = e as TransportError;
      if (te.code === 'transport-mismatch' || te.code === 'timeout') throw te;
      throw new TransportError('handshake', `no server hello: ${te.message}`, { cause: te });
    }
    const ok =
      reply.command === SOCKET_SPDM_COMMAND_TEST &&
      Buffer.from(reply.payload).equals(Buffer.from(SOCKET_SERVER_HELLO));
    if (!ok) {
      const e = new TransportError(
        'handshake',
        `expected TEST "Server Hello!", got ${socketCommandName(reply.command)} with ${reply.payload.length} byte(s)`,
      );
      ch.fail(e);
      throw e;
    }
  }

  const exchangeRaw = (payload: Uint8Array, timeoutMs?: number) =>
    serial(async () => {
      opts.onWire?.({ direction: 'request', binding, payload });
      const reply = await roundTrip(SOCKET_SPDM_COMMAND_NORMAL, payload, timeoutMs);
      if (reply.command !== SOCKET_SPDM_COMMAND_NORMAL) {
        throw new TransportError(
          'unexpected-command',
          `peer answered ${socketCommandName(reply.command)} to NORMAL`,
        );
      }
      opts.onWire?.({ direction: 'response', binding, payload: reply.payload });
      return reply.payload;
    });

  return {
    binding,
    exchangeRaw,
    command: (command, payload = new Uint8Array(), timeoutMs) =>
      serial(() => roundTrip(command, payload, timeoutMs)),
    exchange: (m: TransportMessage, timeoutMs?: number): Promise<TransportMessage> =>
      exchangeMessage(binding, exchangeRaw, m, timeoutMs),
    close() {
      closing ??= serial(async () => {
        shutDown = true;
        if (!ch.failure) {
          try {
            ch.send({
              command: SOCKET_SPDM_COMMAND_SHUTDOWN,
              transportType,
              payload: new Uint8Array(),
            });
            await ch.next(Math.min(defaultTimeout, 2000)); // the echo; any answer will do
          } catch {
            // closing anyway
          }
        }
        if (!sock.destroyed) {
          await new Promise<void>((resolve) => {
            sock.once('close', () => resolve());
            sock.end();
            setTimeout(() => sock.destroy(), 1000).unref();
          });
        }
      });
      return closing;
    },
  };
}
