import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateDeviceIdentity } from '../../src/crypto/cert-build.ts';
import { REPLAY_EPOCH_MS } from '../../src/crypto/random.ts';
import { builtinProfiles } from '../../src/device/profiles/index.ts';
import { nic } from '../../src/device/profiles/nic.ts';
import { decodeDoeObject, PCI_DOE_TYPE_SECURED_SPDM } from '../../src/wire/doe.ts';
import { toHex } from '../../src/wire/hex.ts';
import { decodePcap, LINKTYPE_PCI_DOE } from '../../src/wire/pcap.ts';
import { ScenarioError } from '../../src/world/errors.ts';
import { runLifecycle } from '../../src/world/lifecycle.ts';
import type { DeviceIdentity } from '../../src/world/tdisp-device.ts';
import { Trace, type TraceRecord, traceRecordJson } from '../../src/world/trace.ts';

type Check = Extract<TraceRecord, { kind: 'check' }>;
const checks = (rs: TraceRecord[]) => rs.filter((r): r is Check => r.kind === 'check');

describe('default lifecycle scenario', () => {
  for (const [name, profile] of Object.entries(builtinProfiles)) {
    it(`every security check holds on the ${name} profile`, async () => {
      const { trace, ok } = await runLifecycle({ profile, seed: 'test' });
      const failed = checks(trace.records).filter((c) => !c.ok);
      assert.deepEqual(failed, [], 'no failed checks');
      assert.ok(ok);
      const names = checks(trace.records).map((c) => c.name);
      for (const must of [
        'SPDM certificate-chain',
        'SPDM key-exchange-signature',
        'report MMIO ranges match the assigned BARs',
        'TDI is RUN',
        'TDI is ERROR after the trigger',
        'a TDI in ERROR takes no T=1 traffic',
        'guest data scrubbed after STOP',
      ]) {
        assert.ok(names.includes(must), `check "${must}" was made`);
      }
    });
  }

  it('the TDI walks CONFIG_UNLOCKED -> CONFIG_LOCKED -> RUN -> ERROR -> CONFIG_UNLOCKED', async () => {
    const { trace, tdi } = await runLifecycle({ seed: 'states', tdiFn: 2 });
    const walk = trace.records.flatMap((r) =>
      r.kind === 'dsm' && r.event.kind === 'TDI_STATE' && r.event.fn === tdi.fn
        ? [`${r.event.from}->${r.event.to}`]
        : [],
    );
    assert.deepEqual(walk, [
      'CONFIG_UNLOCKED->CONFIG_LOCKED',
      'CONFIG_LOCKED->RUN',
      'RUN->ERROR',
      'ERROR->CONFIG_UNLOCKED',
    ]);
  });

  it('a DSM that never enters ERROR (spdm-emu behaviour) fails the host-attack checks', async () => {
    const { trace, ok } = await runLifecycle({ seed: 'flaw', behaviour: 'spdm-emu' });
    assert.equal(ok, false);
    assert.deepEqual(
      checks(trace.records)
        .filter((c) => !c.ok)
        .map((c) => c.name),
      ['TDI is ERROR after the trigger', 'a TDI in ERROR takes no T=1 traffic'],
    );
  });

  /** Every DOE object crossing the mailbox (both directions) and every trace record. */
  const replay = async (seed: string, identity?: DeviceIdentity) => {
    const objects: string[] = [];
    const { trace } = await runLifecycle({
      seed,
      identity,
      onWire: (e) => objects.push(`${e.direction} ${toHex(e.payload)}`),
    });
    return { objects, events: trace.records.map((r) => JSON.stringify(traceRecordJson(r))) };
  };
  const differing = (a: string[], b: string[]) => a.filter((x, i) => x !== b[i]).length;

  it('one seed replays every DOE object and every event byte for byte; another seed differs', async () => {
    const [a, b, c] = [await replay('replay'), await replay('replay'), await replay('other')];
    assert.ok(a.objects.length > 50, `${a.objects.length} DOE objects`);
    assert.deepEqual(b.objects, a.objects);
    assert.deepEqual(b.events, a.events);
    // The signed and the encrypted messages depend on the seed: most objects differ.
    assert.ok(differing(a.objects, c.objects) > a.objects.length / 2);
    assert.notDeepEqual(c.events, a.events);
  });

  it('with a fixed identity (keys not from the seed) one seed still replays every object', async () => {
    const id = await generateDeviceIdentity({ name: 'fixed' });
    const identity = { certChain: id.certificates, privateKey: id.leaf.privateKey };
    const [a, b] = [await replay('fixed', identity), await replay('fixed', identity)];
    assert.deepEqual(b.objects, a.objects);
    assert.deepEqual(b.events, a.events);
  });

  it('SR-IOV on PF 1: the VF attack clears VF MSE in PF 1, and every check holds', async () => {
    const pf0 = { ...nic.functions[0], sriov: undefined };
    const pf1 = { ...nic.functions[0], fn: 1 };
    const profile = { ...nic, name: 'nic-sriov-on-pf1', functions: [pf0, pf1] };
    const { trace, ok, tdi } = await runLifecycle({ profile, seed: 'pf1' });
    assert.deepEqual(trace.failedChecks, []);
    assert.ok(ok);
    assert.equal(tdi.fn, 2); // PF 1's first VF
    const attack = trace.records.find(
      (r) => r.kind === 'access' && r.action.startsWith('config write'),
    );
    assert.match(attack?.kind === 'access' ? attack.action : '', /^config write 00:00\.1 SR-IOV/);
  });

  it("T=1 traffic is the guest's, T=0 and config writes the host's; interfaceId is the TDI's", async () => {
    const { trace, tdi } = await runLifecycle({ seed: 'domains', tdiFn: 3 });
    const accesses = trace.records.flatMap((r) => (r.kind === 'access' ? [r] : []));
    const t1 = accesses.filter((r) => /T=1/.test(r.action));
    assert.ok(t1.length >= 3);
    assert.ok(t1.every((r) => r.domain === 'guest'));
    assert.ok(accesses.filter((r) => !/T=1/.test(r.action)).every((r) => r.domain === 'host'));
    assert.deepEqual(tdi.interfaceId, { requesterId: 3, segment: 0, segmentValid: false });
  });

  it('a DSM INTERNAL_ERROR fails a check, so the run is not ok', () => {
    const trace = new Trace();
    trace.dsmSink()({ kind: 'INTERNAL_ERROR', protocol: 'CONFIG', message: 'boom' });
    assert.deepEqual(
      trace.failedChecks.map((c) => [c.name, c.detail]),
      [['DSM CONFIG handled without internal error', 'boom']],
    );
  });

  it('refuses a TDI the profile does not have, naming what it has', async () => {
    await assert.rejects(runLifecycle({ tdiFn: 9 }), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.match(e.message, /no TDI at function 9: the nic profile has 1, 2, 3, 4/);
      return true;
    });
  });
});

describe('teeio demo', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/teeio.mjs', 'demo', ...args], { encoding: 'utf8' });

  it('prints the trace and exits 0 when every check holds', () => {
    const r = run('--seed', 'cli');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /TDISP {2}LOCK_INTERFACE_REQUEST if 0x0001/);
    assert.match(r.stdout, /IDE_KM KEY_PROG stream 0 PR RX K0/);
    assert.match(r.stdout, /summary: \d+ SPDM messages, 16\/16 checks held/);
  });

  it('exits 1 and names the failed checks when a property breaks', () => {
    const r = run('--behaviour', 'spdm-emu', '--quiet');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /FAILED: TDI is ERROR after the trigger/);
  });

  it('emits JSON lines with --json', () => {
    const r = run('--json', '--seed', 'json');
    assert.equal(r.status, 0, r.stderr);
    const records = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      records.some((x) => x.kind === 'spdm' && x.description.name === 'START_INTERFACE_REQUEST'),
    );
  });

  it('--pcap writes the DOE mailbox traffic as LINKTYPE_PCI_DOE records', () => {
    const dir = mkdtempSync(join(tmpdir(), 'teeio-demo-'));
    const file = join(dir, 'demo.pcap');
    try {
      const r = run('--quiet', '--seed', 'pcap', '--pcap', file);
      assert.equal(r.status, 0, r.stderr);
      const pcap = decodePcap(new Uint8Array(readFileSync(file)));
      assert.equal(pcap.header.linkType, LINKTYPE_PCI_DOE);
      const objects = pcap.records.map((x) => decodeDoeObject(x.data));
      const spdm = Number(/summary: (\d+) SPDM messages/.exec(r.stdout)?.[1]);
      // Every SPDM message crossed the mailbox as one DOE object; Discovery adds none here.
      assert.equal(objects.length, spdm);
      assert.ok(
        objects.some((o) => o.type === PCI_DOE_TYPE_SECURED_SPDM),
        'secured records present',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--seed X --pcap F twice: the same trace text and the same pcap, byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'teeio-demo-'));
    const file = join(dir, 'replay.pcap');
    try {
      const once = (seed: string) => {
        const r = run('--seed', seed, '--pcap', file);
        assert.equal(r.status, 0, r.stderr);
        return { text: r.stdout, pcap: toHex(new Uint8Array(readFileSync(file))) };
      };
      const [a, b, c] = [once('X'), once('X'), once('Y')];
      assert.equal(b.text, a.text);
      assert.equal(b.pcap, a.pcap);
      assert.notEqual(c.pcap, a.pcap);
      assert.notEqual(c.text, a.text);
      // Record timestamps come from the replay epoch's logical clock, not the wall clock.
      const pcap = decodePcap(new Uint8Array(readFileSync(file)));
      assert.deepEqual(
        pcap.records.slice(0, 2).map((x) => [x.tsSec, x.tsFrac]),
        [
          [REPLAY_EPOCH_MS / 1000, 0],
          [REPLAY_EPOCH_MS / 1000, 1],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one-line error and exit 2 for a bad profile', () => {
    const r = run('--profile', '/nonexistent.yaml');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^teeio demo: --profile \/nonexistent.yaml: /);
  });
});
