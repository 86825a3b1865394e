/**
 * Collects the session secrets a libspdm Debug log printed, session by session, in log
 * order: libspdm_generate_session_handshake_key[id] opens a handshake block (th1 hash,
 * [DHE Secret] or [PSK], handshake secrets, two finished_keys, then key/iv for the
 * requester and the responder), libspdm_generate_session_data_key[id] a data block, and
 * libspdm_create_update_session_data_key[id] Requester|Responder a KEY_UPDATE block.
 * Independent of src/: it only reads what libspdm printed.
 */
import { readFileSync } from 'node:fs';
import { vectorPath } from '../support/captures.ts';

export interface LoggedKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

export interface LoggedUpdate extends LoggedKeys {
  direction: 'Requester' | 'Responder';
  secret: Uint8Array;
}

export interface LoggedSession {
  id: string;
  values: Map<string, Uint8Array[]>;
  handshakeKeys: LoggedKeys[];
  dataKeys: LoggedKeys[];
  updates: LoggedUpdate[];
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

export function loggedSessions(file: string): LoggedSession[] {
  const lines = readFileSync(vectorPath('libspdm-captures', file), 'utf8').split(/\r?\n/);
  const sessions: LoggedSession[] = [];
  const latest = new Map<string, LoggedSession>();
  let cur: LoggedSession | undefined;
  let section: 'hs' | 'data' | 'upd' | undefined;
  let pendingKey: Uint8Array | undefined;
  let upd: Partial<LoggedUpdate> | undefined;
  for (const line of lines) {
    let m = /^libspdm_generate_session_handshake_key\[([0-9a-f]+)\]/.exec(line);
    if (m) {
      cur = { id: m[1], values: new Map(), handshakeKeys: [], dataKeys: [], updates: [] };
      sessions.push(cur);
      latest.set(m[1], cur);
      section = 'hs';
      continue;
    }
    m = /^libspdm_generate_session_data_key\[([0-9a-f]+)\]/.exec(line);
    if (m) {
      cur = latest.get(m[1]);
      section = 'data';
      continue;
    }
    m = /^libspdm_create_update_session_data_key\[([0-9a-f]+)\] (Requester|Responder)/.exec(line);
    if (m) {
      cur = latest.get(m[1]);
      section = 'upd';
      upd = { direction: m[2] as LoggedUpdate['direction'] };
      continue;
    }
    if (/^libspdm_(send|receive)_spdm_/.test(line)) section = undefined;
    if (!cur || !section) continue;
    m = /^\[(DHE Secret|PSK)\]: ([0-9a-f]+)\s*$/.exec(line);
    const v = m ?? /^(\w[\w ]*?)(?: \(0x[0-9a-f]+\))? - ((?:[0-9a-f]{2} ?)+)\s*$/.exec(line);
    if (!v) continue;
    const [name, value] = [v[1], hex(v[2])];
    if (name === 'key') pendingKey = value;
    else if (name === 'iv' && pendingKey) {
      const keys = { key: pendingKey, iv: value };
      if (section === 'hs') cur.handshakeKeys.push(keys);
      else if (section === 'data') cur.dataKeys.push(keys);
      else if (upd?.secret) cur.updates.push({ ...(upd as LoggedUpdate), ...keys });
      pendingKey = undefined;
    } else if (section === 'upd' && upd && /DataSecretUpdate$/.test(name)) upd.secret = value;
    else {
      const list = cur.values.get(name) ?? [];
      list.push(value);
      cur.values.set(name, list);
    }
  }
  return sessions;
}

/** The one value `name` of a session (throws when missing, so a test fails loudly). */
export function one(s: LoggedSession, name: string, index = 0): Uint8Array {
  const v = s.values.get(name)?.[index];
  if (!v) throw new Error(`session ${s.id}: no ${name}[${index}] in the log`);
  return v;
}
