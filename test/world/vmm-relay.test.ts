/**
 * The VMM as the adversary of the guest's TSM requests (vmm.relay, host/vmm/relay.ts): each
 * mode's effect and what the guest makes of it, the trace naming what the VMM did, the
 * refusals of the operation itself, and its candidate steps. SEV and CCA, whose evidence
 * passes through the host, are in scenarios/vmm-*.yaml and test/world/guest-invariants;
 * here TDX, where the host only carries what the TD recorded in the module: it can withhold
 * a request (the TD names it, and recovers once the host carries again) but a rewrite of
 * what it relays changes nothing the TD trusts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPS } from '../../src/world/ops/index.ts';
import { World } from '../../src/world/world.ts';

async function locked(seed: string, flavour: 'tdx' | 'sev' = 'tdx') {
  const w = await World.create({ flavour, seed });
  for (const d of ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock']) {
    const r = await w.perform({ do: d });
    assert.equal(r.ok, true, `${d}: ${r.detail}`);
  }
  return w;
}

const relay = (w: World, mode: string, count?: number) =>
  w.perform({ do: 'vmm.relay', args: count === undefined ? { mode } : { mode, count } });

/** The VMM's hypercall events (KVM_EXIT_HYPERCALL) in the trace that name a relay act. */
const relayActs = (w: World) =>
  w.trace.records.flatMap((r) =>
    r.kind === 'uapi' && r.event.op === 'KVM_EXIT_HYPERCALL' && r.event.args.relay
      ? [String(r.event.args.relay)]
      : [],
  );

describe('vmm.relay on TDX', () => {
  for (const [mode, errno, reason] of [
    ['drop', 'EIO', /GET_DEVICE_INTERFACE_REPORT: the host answered the relay without carrying it/],
    ['delay', 'ETIMEDOUT', /the VMM has not carried it/],
    [
      'replay',
      'EIO',
      /GET_DEVICE_INTERFACE_REPORT: the host answered the relay without carrying it/,
    ],
  ] as const) {
    it(`${mode}: the TD refuses with a reason, the trace shows it, and it recovers once carried`, async () => {
      const w = await locked(`relay ${mode}`);
      if (mode === 'replay') {
        // Something to replay: the answer to an earlier report request.
        assert.equal((await w.perform({ do: 'guest.attest' })).ok, true);
      }
      assert.equal((await relay(w, mode)).ok, true);
      const r = await w.perform({ do: 'guest.attest' });
      assert.equal(r.errno, errno, r.detail);
      assert.match(r.detail ?? '', reason);
      assert.deepEqual(relayActs(w), [
        { drop: 'dropped', delay: 'held', replay: 'replayed' }[mode],
      ]);
      assert.equal((await w.perform({ do: 'guest.tsm/accept' })).errno, 'EPERM');
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
      // The relay passes again (a held request carried now): the TD attests and accepts.
      const pass = await relay(w, 'pass');
      assert.deepEqual(pass.value, { carried: mode === 'delay' ? 1 : 0 });
      assert.equal((await w.perform({ do: 'guest.attest' })).ok, true);
      assert.equal((await w.perform({ do: 'guest.tsm/accept' })).ok, true);
      assert.equal(w.tdiState({ do: '' }), 'RUN');
    });
  }

  it('rewrite: nothing the TD trusts passes the VMM, so nothing changes', async () => {
    const w = await locked('relay rewrite');
    assert.equal((await relay(w, 'rewrite')).ok, true);
    assert.equal((await w.perform({ do: 'guest.attest' })).ok, true);
    assert.equal((await w.perform({ do: 'guest.tsm/accept' })).ok, true);
    assert.equal(w.tdiState({ do: '' }), 'RUN');
    // The relayed answers carry no report: the rewrite found nothing to change.
    assert.deepEqual(relayActs(w), []);
    const dev = w.vms.get('vm1')?.guest?.devices.get(0x10);
    const genuine = [...w.pw.p.tsm.tdis.values()].find((t) => t.vm)?.report?.bytes;
    assert.deepEqual(dev?.attested?.evidence.report.bytes, genuine);
  });

  it('a count of requests: drop the next two, then pass', async () => {
    const w = await locked('relay count');
    assert.equal((await relay(w, 'drop', 2)).ok, true);
    assert.equal((await w.perform({ do: 'guest.attest' })).ok, false);
    assert.equal((await w.perform({ do: 'guest.attest' })).ok, false);
    assert.equal((await w.perform({ do: 'guest.attest' })).ok, true);
    assert.deepEqual(relayActs(w), ['dropped', 'dropped']);
  });
});

describe('vmm.relay on SEV-TIO: the sealed guest messages', () => {
  for (const [mode, reason] of [
    ['replay', /TIO_MSG_TDI_INFO_REQ: reply out of sequence \(sequence number 2, expected 4\)/],
    ['rewrite', /TIO_MSG_TDI_INFO_REQ: reply does not authenticate under the VMPCK/],
  ] as const) {
    it(`${mode}: the guest's message layer refuses the reply (EBADMSG) before the attester sees it, and it recovers`, async () => {
      const w = await locked(`sev relay ${mode}`, 'sev');
      // Something to replay: the reply to an earlier TDI_INFO request.
      if (mode === 'replay') assert.equal((await w.perform({ do: 'guest.attest' })).ok, true);
      assert.equal((await relay(w, mode)).ok, true);
      const r = await w.perform({ do: 'guest.attest' });
      assert.equal(r.errno, 'EBADMSG', r.detail);
      assert.match(r.detail ?? '', reason);
      assert.deepEqual(relayActs(w), [{ replay: 'replayed', rewrite: 'rewritten' }[mode]]);
      assert.equal((await w.perform({ do: 'guest.tsm/accept' })).errno, 'EPERM');
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
      // The guest and the PSP stay in sequence: once the relay passes, it attests and accepts.
      assert.equal((await w.perform({ do: 'guest.attest' })).ok, true);
      assert.equal((await w.perform({ do: 'guest.tsm/accept' })).ok, true);
      assert.equal(w.tdiState({ do: '' }), 'RUN');
    });
  }
});

describe('SEV-TIO: the guest VMPCK is out of the host reach', () => {
  it('the host ABI has no call that reads the secrets page', async () => {
    const w = await locked('sev secrets page', 'sev');
    const r = await w.perform({ do: 'host.tsm-abi/call', args: { call: 'SNP_SECRETS_PAGE' } });
    assert.equal(r.errno, 'EINVAL');
    assert.match(r.detail ?? '', /sev firmware has no host ABI call 'SNP_SECRETS_PAGE'/);
  });
});

describe('vmm.relay refuses, changing nothing', () => {
  it('-EBADF before the VM exists, -EINVAL for an unknown mode or a count below 1', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'relay refusals' });
    assert.equal((await relay(w, 'drop')).errno, 'EBADF');
    assert.equal((await w.perform({ do: 'vmm.create-vm' })).ok, true);
    const bad = await relay(w, 'garble');
    assert.equal(bad.errno, 'EINVAL');
    assert.match(bad.detail ?? '', /relay mode 'garble' \(pass, drop, delay, replay, rewrite\)/);
    assert.equal((await relay(w, 'drop', 0)).errno, 'EINVAL');
    assert.equal((await relay(w, 'drop', 1.5)).errno, 'EINVAL');
    const vm = w.s.vms.get(w.vms.get('vm1')?.vmFd ?? -1);
    assert.equal(vm?.relay?.left ?? 0, 0, 'no refused mode armed');
  });
});

describe('vmm.relay candidates', () => {
  it('a rewrite for a running VM, and a replay once an answer is captured', async () => {
    const cands = (w: World) => OPS['vmm.relay'].candidates?.(w) ?? [];
    const w = await World.create({ flavour: 'tdx', seed: 'relay candidates' });
    assert.deepEqual(cands(w), []);
    for (const d of ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign']) await w.perform({ do: d });
    const modes = (c: ReturnType<typeof cands>) => c.map((s) => `${s.args?.mode}:${s.args?.count}`);
    assert.deepEqual(modes(cands(w)), ['rewrite:1']);
    await w.perform({ do: 'guest.tsm/lock' });
    assert.ok(modes(cands(w)).includes('replay:1'), 'the bind answer is captured');
    for (const c of cands(w)) {
      const r = await w.perform(c);
      assert.equal(r.ok, true, `${c.args?.mode} ${c.args?.count}`);
    }
  });
});
