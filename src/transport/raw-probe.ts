/**
 * A raw TCP probe of an spdm-emu socket responder (WIRE.md "spdm-emu socket"), for the
 * conformance suite's robustness cases: connect, write bytes no well-behaved requester
 * would (a frame of another transport type, a header announcing gigabytes, half a header),
 * and report what came back and whether the peer hung up. Nothing is parsed here: the
 * bytes are the point.
 */
import { connect, type Socket } from 'node:net';
import { TransportError } from './types.ts';

export interface RawProbeOptions {
  host: string;
  port: number;
  /** Written one after the other, each once the previous is flushed. */
  writes: Uint8Array[];
  /** How long to listen after the last write (default 500 ms). */
  listenMs?: number;
  /** Half-close our side after the last write (default false: the peer must act alone). */
  endAfterWrite?: boolean;
}

export interface RawProbeResult {
  /** Everything the peer sent, concatenated. */
  received: Uint8Array;
  /** The peer closed or reset the connection within the listening time. */
  peerClosed: boolean;
}

/**
 * Connects, writes, listens, then tears the connection down.
 * @throws TransportError 'closed' when the connection cannot be opened.
 */
export function rawProbe(o: RawProbeOptions): Promise<RawProbeResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let peerClosed = false;
    let opened = false;
    const sock: Socket = connect({ host: o.host, port: o.port });
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ received: new Uint8Array(Buffer.concat(chunks)), peerClosed });
    };
    let timer: NodeJS.Timeout | undefined;
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e) => {
      if (!opened) {
        reject(new TransportError('closed', `connecting to ${o.host}:${o.port}: ${e.message}`));
        return;
      }
      peerClosed = true;
    });
    sock.on('end', () => {
      peerClosed = true;
    });
    sock.on('close', () => {
      if (opened) {
        peerClosed = true;
        finish();
      }
    });
    sock.once('connect', async () => {
      opened = true;
      for (const w of o.writes) {
        if (sock.destroyed) break;
        await new Promise<void>((ok) => sock.write(w, () => ok()));
      }
      if (o.endAfterWrite && !sock.destroyed) sock.end();
      timer = setTimeout(finish, o.listenMs ?? 500);
    });
  });
}
