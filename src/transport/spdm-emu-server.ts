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
 *
 * Fairness: a connection answers at most FRAMES_PER_TURN frames before the event loop
 * serves the others, parses at most MAX_QUEUED_FRAMES ahead (the socket is paused while
 * it holds unparsed bytes), and answers nothing more while its replies wait for the peer
 * to read them ('drain'). A pipelining or non-reading requester slows only itself.
 * Optional limits: an idle timeout and a cap on connections open at once.
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
  /**
   * Connections served at once (default: no limit). One more is closed as soon as it is
   * accepted (the spdm-emu socket has no frame that says busy) and `onRefused` is told.
   */
  maxConnections?: number;
  /** A connection closed at once because `maxConnections` were open. */
  onRefused?: (remote: string, open: number) => void;
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
  /**
   * Stops listening and closes every connection gracefully: a frame being answered is
   * answered, frames not yet started are not, then each connection is ended (FIN) and
   * closes once the requester closes its side too. Connections still open after `graceMs`
   * (default 2000) are destroyed. Resolves once all are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Frames parsed ahead of the one being answered. Bytes beyond them stay unparsed, and the
 * socket is not read while any are held: a pipelining requester waits in its own buffers
 * (and TCP's), not in ours.
 */
const MAX_QUEUED_FRAMES = 8;

/**
 * Frames a connection has answered before it lets the event loop run other connections
 * (setImmediate): however much one requester pipelines, the others are served between.
 */
const FRAMES_PER_TURN = 4;

/**
 * Starts listening. Resolves once the port is bound.
 * @throws the listen error (e.g. EADDRINUSE).
 */
export async function serveSpdmEmu(opts: SpdmEmuServerOptions): Promise<SpdmEmuServer> {
  const binding = opts.transportType;
  const transportType = socketTransportType(binding);
  const sockets = new Set<Socket>();
  /** How to end each connection gracefully (serveConnection's `stop`). */
  const stops = new Map<Socket, () => void>();
  // Half-open: a requester may send its last frames and end its side before it reads
  // the replies; the connection ends once they are all answered.
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    if (opts.maxConnections !== undefined && sockets.size >= opts.maxConnections) {
      const remote = `${sock.remoteAddress}:${sock.remotePort}`;
      sock.on('error', () => {}); // a reset while we close it is of no interest
      sock.destroy();
      opts.onRefused?.(remote, sockets.size);
      return;
    }
    sockets.add(sock);
    sock.on('close', () => {
      sockets.delete(sock);
      stops.delete(sock);
    });
    stops.set(sock, serveConnection(sock, binding, transportType, opts));
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
    close(graceMs = 2000) {
      // No grace (or a second close without it): whatever is still open goes now.
      if (graceMs <= 0) for (const s of sockets) s.destroy();
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const s of sockets) (stops.get(s) ?? (() => s.destroy()))();
      });
      return closing;
    },
  };
}

/** Serves one connection; returns its graceful stop (see SpdmEmuServer.close). */
function serveConnection(
  sock: Socket,
  binding: Binding,
  transportType: number,
  opts: SpdmEmuServerOptions,
): () => void {
  sock.setNoDelay(true);
  const parser = new SocketFrameParser({ maxPayload: opts.maxPayload });
  const queue: SocketFrame[] = [];
  /** Bytes read but not yet parsed (the socket is paused while there are any). */
  let unparsed: Uint8Array = new Uint8Array();
  let serving = false; // a serve loop is running or scheduled
  let writeBlocked = false; // the last reply filled the socket's buffer: wait for 'drain'
  let peerEnded = false;
  let done = false;
  let stopping = false; // the server is closing: answer the frame in hand, then end
  let respond: ReturnType<typeof payloadResponder>;

  const drop = (e: Error) => {
    if (done) return;
    done = true;
    queue.length = 0;
    opts.onError?.(e);
    sock.destroy();
  };
  const send = (command: number, payload: Uint8Array = new Uint8Array()) => {
    if (done) return;
    if (!sock.write(encodeFrame({ command, transportType, payload }))) writeBlocked = true;
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
    return () => undefined;
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

  /** Parses held bytes up to MAX_QUEUED_FRAMES; reads again once none are held. */
  const fill = (): boolean => {
    if (unparsed.length > 0 && queue.length < MAX_QUEUED_FRAMES) {
      let r: ReturnType<SocketFrameParser['pushUpTo']>;
      try {
        r = parser.pushUpTo(unparsed, MAX_QUEUED_FRAMES - queue.length);
      } catch (e) {
        drop(e as Error); // WireError 'too-large': refused before allocating
        return false;
      }
      queue.push(...r.frames);
      unparsed = unparsed.subarray(r.used);
    }
    if (unparsed.length === 0 && !writeBlocked && !peerEnded) sock.resume();
    return true;
  };

  // Frames are answered strictly in order, one at a time, however the handler is timed;
  // FRAMES_PER_TURN per event-loop turn, none while the peer is not reading our replies.
  const serve = async () => {
    serving = true;
    let answered = 0;
    while (!done && !stopping && !writeBlocked && fill() && queue.length > 0) {
      if (answered === FRAMES_PER_TURN) {
        setImmediate(() => void serve());
        return;
      }
      const f = queue.shift()!;
      try {
        await handle(f);
      } catch (e) {
        drop(e instanceof Error ? e : new Error(String(e)));
      }
      answered++;
    }
    serving = false;
    if (stopping) {
      if (!done) finish();
      return;
    }
    if (done || writeBlocked || queue.length > 0 || unparsed.length > 0 || !peerEnded) return;
    // The requester sent its last byte and everything it sent has been answered.
    if (parser.midFrame) {
      drop(new TransportError('hangup-mid-frame', 'the requester hung up inside a frame'));
    } else {
      finish();
    }
  };
  const wake = () => {
    if (!serving && !done) void serve();
  };

  sock.on('data', (chunk: Buffer) => {
    if (done || stopping) return; // closing: what still comes is read and dropped
    sock.pause(); // until what this chunk holds has been served
    unparsed = unparsed.length ? Buffer.concat([unparsed, chunk]) : chunk;
    wake();
  });
  sock.on('drain', () => {
    writeBlocked = false;
    wake();
  });
  sock.on('error', (e) => drop(e));
  sock.on('close', () => {
    done = true; // a reply still being computed has nowhere to go
    queue.length = 0;
  });
  sock.on('end', () => {
    peerEnded = true;
    wake();
  });
  if (opts.idleTimeoutMs) {
    sock.setTimeout(opts.idleTimeoutMs, () =>
      drop(new TransportError('timeout', `idle for ${opts.idleTimeoutMs} ms`)),
    );
  }
  return () => {
    if (done) return;
    stopping = true;
    queue.length = 0;
    unparsed = new Uint8Array();
    // Read and drop what the requester still sends: its FIN then reaches us and the
    // connection closes without a reset (unread bytes at close would send one).
    sock.resume();
    // A frame being answered ends the connection when its reply is sent (serve's loop).
    if (!serving) finish();
  };
}
