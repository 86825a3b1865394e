/**
 * --pcap / --keylog on the commands that move SPDM, and `teeio decode`, end to end through
 * bin/teeio.mjs.
 *
 * What this proves: a capture teeio writes (device and requester sides of one connection,
 * PCI DOE and MCTP, and `teeio run`'s mailbox traffic) is a pcap with the link type and
 * per-packet layout DMTF's dump tool reads (DOE objects as they are; MCTP behind the 4-byte
 * transport header 00 00 00 C0), with wall-clock timestamps; both ends log the same session
 * secrets; `teeio decode` with the key log decrypts every secured record, IDE_KM and TDISP
 * included, and without it shows each one encrypted with its session id; a cut or foreign
 * file is refused naming the record and byte offset.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, teeio } from './teeio-child.ts';

const dir = mkdtempSync(join(tmpdir(), 'teeio-captures-'));
const f = (name: string) => join(dir, name);
const u32 = (b: Buffer, o: number) => b.readUInt32LE(o);

/** Each record's data, read with an independent walk over the pcap layout. */
function packets(file: string): { tsSec: number; tsUsec: number; data: Buffer }[] {
  const b = readFileSync(file);
  const out = [];
  for (let o = 24; o < b.length; ) {
    const incl = u32(b, o + 8);
    out.push({ tsSec: u32(b, o), tsUsec: u32(b, o + 4), data: b.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return out;
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('teeio device / requester --pcap --keylog, teeio decode (PCI DOE)', () => {
  const t0 = Math.floor(Date.now() / 1000);
  before(async () => {
    const dev = await startServer('device', [
      '--pcap',
      f('dev.pcap'),
      '--keylog',
      f('dev.keys'),
      '--write-root',
      f('root.der'),
    ]);
    const tdi = /tdi fn=(\d+) .* bars=(\S+)/.exec(dev.banner)!;
    const r = await teeio([
      'requester',
      '--connect',
      `127.0.0.1:${dev.port}`,
      '--trust',
      f('root.der'),
      '--steps',
      'meas,session,ide-km,tdisp,heartbeat,key-update,end',
      '--tdi',
      tdi[1],
      '--tdi-bars',
      tdi[2],
      '--pcap',
      f('req.pcap'),
      '--keylog',
      f('req.keys'),
    ]);
    dev.child.kill('SIGINT');
    const done = await dev.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(done.stdout, /closed \(SIGINT, \d+ packets in /);
  });

  it('the pcap has the global header and per-packet layout of LINKTYPE_PCI_DOE', () => {
    const b = readFileSync(f('req.pcap'));
    // magic a1b2c3d4 (LE), version 2.4, thiszone 0, sigfigs 0, snaplen 0x10000, network 292
    assert.equal(
      b.subarray(0, 24).toString('hex'),
      'd4c3b2a1020004000000000000000000000001002401' + '0000',
    );
    const ps = packets(f('req.pcap'));
    assert.ok(ps.length > 40);
    for (const p of ps) {
      // The DOE object itself: vendor 0x0001, type 1 or 2, reserved 0, length in dwords.
      assert.equal(p.data.readUInt16LE(0), 1);
      assert.ok(p.data[2] === 1 || p.data[2] === 2);
      assert.equal(p.data.readUInt32LE(4) * 4, p.data.length);
      assert.ok(p.tsSec >= t0 - 5 && p.tsSec <= t0 + 300, `wall-clock time ${p.tsSec}`);
    }
    // Both ends saw the same objects.
    const dev = packets(f('dev.pcap'));
    assert.deepEqual(
      dev.map((p) => p.data.toString('hex')),
      ps.map((p) => p.data.toString('hex')),
    );
  });

  it('both ends log the same secrets, one line per session', () => {
    const req = readFileSync(f('req.keys'), 'utf8');
    assert.equal(readFileSync(f('dev.keys'), 'utf8'), req);
    const lines = req.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^SPDM_SESSION_KEYS [0-9a-f]{8} version=1\.3 hash=sha384 aead=aes-256-gcm kind=dhe th1=[0-9a-f]{96} req_hs=[0-9a-f]{96} rsp_hs=[0-9a-f]{96} th2=[0-9a-f]{96} req_data=[0-9a-f]{96} rsp_data=[0-9a-f]{96} dhe=[0-9a-f]{96}$/,
    );
  });

  it('decode with the key log: every message decoded, every secured record decrypted', async () => {
    const r = await teeio(['decode', f('req.pcap'), '--keylog', f('req.keys')]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /encrypted|ERROR|\(\?\)/);
    for (const name of [
      'SPDM KEY_EXCHANGE_RSP',
      'SPDM FINISH ',
      'IDE_KM KEY_PROG stream 0 PR RX K0',
      'IDE_KM K_GOSTOP_ACK',
      'TDISP LOCK_INTERFACE_REQUEST',
      'TDISP DEVICE_INTERFACE_STATE if 0x0001 RUN',
      'SPDM KEY_UPDATE_ACK',
      'SPDM END_SESSION_ACK',
    ]) {
      assert.ok(r.stdout.includes(name), `${name} in\n${r.stdout}`);
    }
    assert.match(
      r.stdout,
      /REQ->RSP +DOE secured SPDM +\[session 0x[0-9a-f]{8} handshake #0\] SPDM FINISH/,
    );
    assert.match(r.stdout, /\[session 0x[0-9a-f]{8} data\+1 #0\]/);
    const sum = /(\d+) packets, (\d+) secured, (\d+) decrypted, 0 without keys/.exec(r.stdout)!;
    assert.equal(sum[2], sum[3]);
  });

  it('decode without the key log: secured records shown encrypted with their session id', async () => {
    const r = await teeio(['decode', f('req.pcap')]);
    assert.equal(r.code, 0, r.stderr);
    const secured = r.stdout.split('\n').filter((l) => l.includes('DOE secured SPDM'));
    assert.ok(secured.length > 20);
    for (const l of secured)
      assert.match(l, /\(\?\) +DOE secured SPDM +\[session 0x[0-9a-f]{8} encrypted, \d+ B\]$/);
    assert.match(r.stdout, /0 decrypted, \d+ without keys/);
    // The plain part still decodes.
    assert.match(r.stdout, /REQ->RSP {2}DOE SPDM +SPDM GET_VERSION/);
  });

  it('decode --json: the fields of every message, IDE_KM and TDISP inside vendor-defined ones', async () => {
    const r = await teeio(['decode', f('req.pcap'), '--keylog', f('req.keys'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.linkType, 292);
    assert.equal(j.summary.decrypted, j.summary.secured);
    const lock = j.messages.find(
      (m: { description?: { name: string } }) => m.description?.name === 'LOCK_INTERFACE_REQUEST',
    );
    assert.ok(lock.fields.payload.TDISP, JSON.stringify(lock));
    assert.equal(lock.secured.state, 'decrypted');
    assert.equal(lock.direction, 'request');
  });

  it('a cut or foreign file is refused naming the record and the byte offset', async () => {
    const whole = readFileSync(f('req.pcap'));
    const ps = packets(f('req.pcap'));
    // Cut inside the third record's data.
    const third = 24 + (16 + ps[0].data.length) + (16 + ps[1].data.length);
    writeFileSync(f('cut.pcap'), whole.subarray(0, third + 16 + 3));
    let r = await teeio(['decode', f('cut.pcap')]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      `teeio decode: PCAP record 3: packet data at byte ${third + 16}: truncated (need ${ps[2].data.length} byte(s), have 3)`,
    );
    writeFileSync(f('foreign.pcap'), 'not a capture at all');
    r = await teeio(['decode', f('foreign.pcap')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^teeio decode: PCAP global header: magic at byte 0: bad-field/);
    writeFileSync(f('bad.keys'), 'SPDM_SESSION_KEYS 1234 version=1.3\n');
    r = await teeio(['decode', f('req.pcap'), '--keylog', f('bad.keys')]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--keylog .*bad\.keys: keylog line 1: session id "1234" is not 8 hex digits/,
    );
  });
});

describe('teeio responder / requester --pcap over MCTP', () => {
  it('LINKTYPE_MCTP: each packet is the transport header 00 00 00 C0 and the MCTP message', async () => {
    const rsp = await startServer('responder', [
      '--trans',
      'mctp',
      '--write-root',
      f('mroot.der'),
      '--keylog',
      f('m.keys'),
    ]);
    const r = await teeio([
      'requester',
      '--connect',
      `127.0.0.1:${rsp.port}`,
      '--trans',
      'mctp',
      '--trust',
      f('mroot.der'),
      '--steps',
      'session,heartbeat,end',
      '--pcap',
      f('m.pcap'),
    ]);
    rsp.child.kill('SIGINT');
    await rsp.done;
    assert.equal(r.code, 0, r.stderr);
    const b = readFileSync(f('m.pcap'));
    assert.equal(u32(b, 20), 291);
    for (const p of packets(f('m.pcap'))) {
      assert.equal(p.data.subarray(0, 4).toString('hex'), '000000c0');
      assert.ok(p.data[4] === 0x05 || p.data[4] === 0x06);
    }
    // The responder's key log opens the requester's capture.
    const d = await teeio(['decode', f('m.pcap'), '--keylog', f('m.keys')]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /link type 291 \(MCTP\)/);
    assert.match(
      d.stdout,
      /MCTP secured SPDM +\[session 0x[0-9a-f]{8} seq 0 handshake #0\] SPDM FINISH/,
    );
    assert.match(d.stdout, /SPDM END_SESSION_ACK/);
    assert.doesNotMatch(d.stdout, /encrypted|ERROR/);
  });
});

describe('teeio run --pcap --keylog', () => {
  it("a scenario's mailbox traffic decodes fully with its key log", async () => {
    const r = await teeio([
      'run',
      'scenarios/mse-clear-in-run.yaml',
      '--pcap',
      f('run.pcap'),
      '--keylog',
      f('run.keys'),
    ]);
    assert.match(r.stdout, /DOE objects in /);
    const d = await teeio(['decode', f('run.pcap'), '--keylog', f('run.keys')]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /TDISP LOCK_INTERFACE_REQUEST/);
    assert.doesNotMatch(d.stdout, /encrypted|ERROR/);
  });
});
