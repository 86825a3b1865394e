/**
 * Responder side of the spdm-emu platform socket (DMTF spdm-emu spdm_responder_emu.c
 * platform_server): a TCP server that speaks the frames of wire/socket.ts to any number of
 * requesters, each connection with its own handler (its own responder state).
 *
 * Per frame, as spdm-emu does: TEST -> TEST "Server Hello!\0"; NORMAL -> the handler (DOE
 * Discovery answered here); SHUTDOWN -> echo, then close; OOB_ENCAP_* -> echoed empty.
 * CONTINUE is echoed and the connection closed, because spdm_requester_emu waits for that
 * echo before it reconnects (the brief said "ignore"; silence would hang a real requester).
 * Unknown commands get UNKNOWN and the connection stays up. A frame of another transport
 * type, an oversized announcement, a payload that does not decode for the binding, or a
 * handler that throws drops that connection only.
 */
import { createServer, type Socket } from 'node:net';
import {
  encodeFrame,
  SOCKET_SERVER_HELLO,
  SOCKET_SPDM_COMMAND_CONTINUE,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_SPDM_COMMAND_OOB_ENCAP_ENDPOINT_INFO,
  SOCKET_SPDM_COMMAND_OOB_ENCAP_KEY_UPDATE,
  SOCKET_SPDM_COMMAND_SHUTDOWN,
  SOCKET_SPDM_COMMAND_TEST,
  SOCKET_SPDM_COMMAND_UNKNOWN,
  type SocketFrame,
  SocketFrameParser,
} from '../wire/socket.ts';
import { socketTransportType } from './binding.ts';
import { type PayloadResponderOptions, payloadResponder } from './responder.ts';
import { type Binding, type ResponderHandler, TransportError, type WireTap } from './types.ts';

export interface SpdmEmuServerOptions extends PayloadResponderOptions {
  /** Default 127.0.0.1: an emulator has no business on other interfaces unless asked. */
  host?: string;
  /** 0 (default) = an ephemeral port; read it from the result. */
  port?: number;
  transportType: Binding;
  /**
   * Called once per accepted connection: a fresh responder for it. `conn.onClose` runs a
   * listener once the connection is gone (to end what its SPDM sessions held).
   */
  onConnection: (conn: SpdmEmuConnection) => ResponderHandler;
  /** Largest frame payload accepted (default SOCKET_DEFAULT_MAX_PAYLOAD). */
  maxPayload?: number;
  /** Close a connection that sends nothing for this long (default: never). */
  idleTimeoutMs?: number;
  /** Why a connection was dropped (bad frame, mismatch, handler failure). */
  onError?: (e: Error) => void;
  onWire?: WireTap;
}

/** One accepted TCP connection, as the responder factory sees it. */
export interface SpdmEmuConnection {
  /** "address:port" of the requester. */
  readonly remote: string;
  onClose(listener: () => void): void;
}

export interface SpdmEmuServer {
  readonly port: number;
  /** Connections currently open. */
  readonly connections: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Frames we let queue up behind a slow handler before we stop reading the socket. */
const MAX_QUEUED_FRAMES = 8;

/**
 * Starts listening. Resolves once the port is bound.
 * @throws the listen error (e.g. EADDRINUSE).
 */
export async function serveSpdmEmu(opts: SpdmEmuServerOptions): Promise<SpdmEmuServer> {
  const binding = opts.transportType;
  const transportType = socketTransportType(binding);
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    serveConnection(sock, binding, transportType, opts);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Later server errors (none expected once listening) must not crash the process.
  server.on('error', (e) => opts.onError?.(e));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | undefined;
  return {
    port,
    get connections() {
      return sockets.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

function serveConnection(
  sock: Socket,
  binding: Binding,
  transportType: number,
  opts: SpdmEmuServerOptions,
): void {
  sock.setNoDelay(true);
  const parser = new SocketFrameParser({ maxPayload: opts.maxPayload });
  const queue: SocketFrame[] = [];
  let busy = false;
  let done = false;
  let respond: ReturnType<typeof payloadResponder>;

  const drop = (e: Error) => {
    if (done) return;
    done = true;
    queue.length = 0;
    opts.onError?.(e);
    sock.destroy();
  };
  const send = (command: number, payload: Uint8Array = new Uint8Array()) => {
    if (!done) sock.write(encodeFrame({ command, transportType, payload }));
  };
  const finish = () => {
    done = true;
    queue.length = 0;
    sock.end();
  };

  const conn: SpdmEmuConnection = {
    remote: `${sock.remoteAddress}:${sock.remotePort}`,
    onClose: (listener) => {
      sock.once('close', () => {
        try {
          listener();
        } catch (e) {
          opts.onError?.(e instanceof Error ? e : new Error(String(e)));
        }
      });
    },
  };
  try {
    respond = payloadResponder(binding, opts.onConnection(conn), opts);
  } catch (e) {
    drop(e instanceof Error ? e : new Error(String(e)));
    return;
  }

  const handle = async (f: SocketFrame): Promise<void> => {
    if (f.transportType !== transportType) {
      // spdm-emu: receive_platform_data fails and the connection is closed.
      drop(
        new TransportError(
          'transport-mismatch',
          `frame of transport type ${f.transportType}, serving ${transportType}`,
        ),
      );
      return;
    }
    switch (f.command) {
      case SOCKET_SPDM_COMMAND_TEST:
        send(SOCKET_SPDM_COMMAND_TEST, SOCKET_SERVER_HELLO);
        return;
      case SOCKET_SPDM_COMMAND_NORMAL: {
        opts.onWire?.({ direction: 'request', binding, payload: f.payload });
        const reply = await respond(f.payload);
        if (reply && !done) {
          opts.onWire?.({ direction: 'response', binding, payload: reply });
          send(SOCKET_SPDM_COMMAND_NORMAL, reply);
        }
        return;
      }
      case SOCKET_SPDM_COMMAND_SHUTDOWN:
      case SOCKET_SPDM_COMMAND_CONTINUE:
        send(f.command);
        finish();
        return;
      case SOCKET_SPDM_COMMAND_OOB_ENCAP_KEY_UPDATE:
      case SOCKET_SPDM_COMMAND_OOB_ENCAP_ENDPOINT_INFO:
        send(f.command);
        return;
      default:
        send(SOCKET_SPDM_COMMAND_UNKNOWN);
    }
  };

  // Frames are answered strictly in order, one at a time, however the handler is timed.
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (queue.length > 0 && !done) {
      const f = queue.shift()!;
      if (queue.length < MAX_QUEUED_FRAMES) sock.resume();
      try {
        await handle(f);
      } catch (e) {
        drop(e instanceof Error ? e : new Error(String(e)));
      }
    }
    busy = false;
  };

  sock.on('data', (chunk: Buffer) => {
    if (done) return;
    try {
      queue.push(...parser.push(chunk));
    } catch (e) {
      drop(e as Error); // WireError 'too-large': refused before allocating
      return;
    }
    if (queue.length >= MAX_QUEUED_FRAMES) sock.pause();
    void pump();
  });
  sock.on('error', (e) => drop(e));
  sock.on('close', () => {
    done = true; // a reply still being computed has nowhere to go
    queue.length = 0;
  });
  sock.on('end', () => {
    if (parser.midFrame && !done) {
      drop(new TransportError('hangup-mid-frame', 'the requester hung up inside a frame'));
    }
  });
  if (opts.idleTimeoutMs) {
    sock.setTimeout(opts.idleTimeoutMs, () =>
      drop(new TransportError('timeout', `idle for ${opts.idleTimeoutMs} ms`)),
    );
  }
}
