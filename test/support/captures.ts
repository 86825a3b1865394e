/**
 * Reader for the decoded libspdm captures in ../shared/vectors/libspdm-captures.
 *
 * The project never copies those files; tests read them where they lie. This parser is
 * deliberately independent of src/wire: it only collects the hex dumps that the
 * capture's own decoder printed, so tests can compare teeio's codecs against them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** ../shared/vectors beside the repository, or $TEEIO_VECTORS. */
export const VECTORS_DIR = process.env.TEEIO_VECTORS ?? resolve(here, '../../../shared/vectors');

export function vectorPath(...parts: string[]): string {
  const p = join(VECTORS_DIR, ...parts);
  if (!existsSync(p)) {
    throw new Error(`test vector ${p} not found: set TEEIO_VECTORS to shared/vectors`);
  }
  return p;
}

export interface CaptureFrame {
  index: number;
  conn: number;
  dir: 'REQ->RSP' | 'RSP->REQ';
  command: number;
  transport: number;
  /** The 12-byte socket frame header as captured. */
  header: Uint8Array;
  /** The socket payload as captured. */
  payload: Uint8Array;
  /** For secured records: the decrypted application data the capture shows. */
  plaintext?: Uint8Array;
  /** For secured records: which key (0 req hs, 1 rsp hs, 2 req data, 3 rsp data, 4+ after KEY_UPDATE) and sequence number. */
  keyIndex?: number;
  seq?: number;
  padding?: number;
  appDataLength?: number;
  sessionId?: number;
  /** The capture's one-line description lines (e.g. "SPDM 1.3 GET_VERSION(0x84) ..."). */
  notes: string[];
}

export type CaptureName = 'doe-spdm13-session.txt' | 'v12.decoded.txt' | 'mctp.decoded.txt';
export const CAPTURES: CaptureName[] = [
  'doe-spdm13-session.txt',
  'v12.decoded.txt',
  'mctp.decoded.txt',
];

function hexLine(line: string): number[] | undefined {
  const m = /^\s+[0-9a-f]{4}: ((?:[0-9a-f]{2} ?)+)\s*$/.exec(line);
  if (!m) return undefined;
  return m[1]
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16));
}

const cache = new Map<string, CaptureFrame[]>();

/** All frames of PART 2 (the hex dumps) of one decoded capture. */
export function loadCapture(name: CaptureName): CaptureFrame[] {
  const hit = cache.get(name);
  if (hit) return hit;
  const text = readFileSync(vectorPath('libspdm-captures', name), 'utf8');
  const lines = text.split('\n');
  const frames: CaptureFrame[] = [];
  let cur: CaptureFrame | undefined;
  let target: number[] | undefined;
  let plain: number[] | undefined;
  let payload: number[] | undefined;
  const flush = () => {
    if (!cur) return;
    cur.payload = Uint8Array.from(payload ?? []);
    if (plain) cur.plaintext = Uint8Array.from(plain);
    frames.push(cur);
  };
  for (const line of lines) {
    const head =
      /^#(\d{4}) t=\S+ conn=(\d+) (REQ->RSP|RSP->REQ) cmd=0x([0-9a-f]+)\S* transport=(\d+)/.exec(
        line,
      );
    if (head) {
      flush();
      cur = {
        index: Number(head[1]),
        conn: Number(head[2]),
        dir: head[3] as CaptureFrame['dir'],
        command: Number.parseInt(head[4], 16),
        transport: Number(head[5]),
        header: new Uint8Array(),
        payload: new Uint8Array(),
        notes: [],
      };
      target = undefined;
      plain = undefined;
      payload = undefined;
      continue;
    }
    if (!cur) continue;
    const bytes = hexLine(line);
    if (bytes && target) {
      target.push(...bytes);
      continue;
    }
    target = undefined;
    const t = line.trim();
    if (t.startsWith('raw frame header:')) {
      cur.header = Uint8Array.from(
        t
          .slice('raw frame header:'.length)
          .trim()
          .split(/\s+/)
          .map((h) => Number.parseInt(h, 16)),
      );
    } else if (t === 'plaintext app data:') {
      plain = [];
      target = plain;
    } else if (t.startsWith('payload')) {
      payload = [];
      target = payload;
    } else {
      const dec = /decrypted with key#(\d+) seq=(\d+): app_data_length=(\d+) padding=(\d+)/.exec(t);
      if (dec) {
        cur.keyIndex = Number(dec[1]);
        cur.seq = Number(dec[2]);
        cur.appDataLength = Number(dec[3]);
        cur.padding = Number(dec[4]);
      }
      const sid = /SECURED session_id=0x([0-9a-f]+)/.exec(t);
      if (sid) cur.sessionId = Number.parseInt(sid[1], 16);
      if (t) cur.notes.push(t);
    }
  }
  flush();
  cache.set(name, frames);
  return frames;
}

/** The whole socket frame (header + payload) as it crossed TCP. */
export function frameBytes(f: CaptureFrame): Uint8Array {
  const out = new Uint8Array(f.header.length + f.payload.length);
  out.set(f.header, 0);
  out.set(f.payload, f.header.length);
  return out;
}

/** Values a libspdm Debug log printed as "name (0xNN) - aa bb ..." or "name - aa bb", in order. */
export function logValues(file: string, name: string): Uint8Array[] {
  const text = readFileSync(vectorPath('libspdm-captures', file), 'utf8');
  const out: Uint8Array[] = [];
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${esc}(?: \\(0x[0-9a-f]+\\))? - ((?:[0-9a-f]{2} ?)+)\\s*$`, 'gm');
  for (const m of text.matchAll(re)) {
    out.push(Uint8Array.from(m[1].trim().split(/\s+/), (h) => Number.parseInt(h, 16)));
  }
  return out;
}

/**
 * The NORMAL-frame payloads of one capture as (request, response) pairs, in order,
 * optionally only for one spdm-emu transport type (1 MCTP, 2 PCI_DOE).
 */
export function capturePairs(
  name: CaptureName,
  transport?: number,
): Array<[Uint8Array, Uint8Array]> {
  const frames = loadCapture(name).filter(
    (f) => f.command === 1 && (transport === undefined || f.transport === transport),
  );
  const pairs: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i + 1 < frames.length; i++) {
    if (frames[i].dir === 'REQ->RSP' && frames[i + 1].dir === 'RSP->REQ') {
      pairs.push([frames[i].payload, frames[i + 1].payload]);
    }
  }
  return pairs;
}
