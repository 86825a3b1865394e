import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { doeDiscovery } from '../../src/transport/doe-discovery.ts';
import { createInProcessPair } from '../../src/transport/in-process.ts';
import { doeDiscoveryResponder } from '../../src/transport/responder.ts';
import type { ResponderHandler, TransportMessage } from '../../src/transport/types.ts';

/** A stand-in responder: answers a plain message with its bytes reversed, secured as is. */
const mirror: ResponderHandler = async (m) =>
  m.secured
    ? { secured: true, bytes: m.bytes }
    : { secured: false, bytes: m.bytes.slice().reverse() };

const record = (binding: 'pci_doe' | 'mctp') =>
  Uint8Array.of(
    0xff,
    0xff,
    0xff,
    0xff,
    ...(binding === 'mctp' ? [2, 0] : []),
    17,
    0,
    0xaa,
    ...new Array(16).fill(1),
  );

describe('in-process pair', () => {
  for (const binding of ['pci_doe', 'mctp'] as const) {
    test(`${binding}: plain and secured messages go through the binding bytes`, async () => {
      const seen: Array<{ direction: string; payload: Uint8Array }> = [];
      const t = createInProcessPair(binding, mirror, { onWire: (e) => seen.push(e) });
      assert.equal(t.binding, binding);
      const get = Uint8Array.of(0x10, 0x84, 0x00, 0x01, 0x02); // 5 bytes: DOE pads to 8
      const r = await t.exchange({ secured: false, bytes: get });
      assert.equal(r.secured, false);
      if (binding === 'pci_doe') {
        // The responder saw 3 pad bytes after the message and mirrored them in front.
        assert.deepStrictEqual([...r.bytes], [0, 0, 0, 2, 1, 0, 0x84, 0x10]);
        assert.deepStrictEqual([...seen[0].payload.subarray(0, 8)], [1, 0, 1, 0, 4, 0, 0, 0]);
      } else {
        assert.deepStrictEqual([...r.bytes], [2, 1, 0, 0x84, 0x10]);
        assert.deepStrictEqual([...seen[0].payload], [5, 0x10, 0x84, 0, 1, 2]);
      }
      const s = await t.exchange({ secured: true, bytes: record(binding) });
      assert.deepStrictEqual(s, { secured: true, bytes: record(binding) });
      assert.deepStrictEqual(
        seen.map((e) => e.direction),
        ['request', 'response', 'request', 'response'],
      );
      await t.close();
      await assert.rejects(t.exchange({ secured: false, bytes: get }), {
        name: 'TransportError',
        code: 'closed',
      });
    });
  }

  test('DOE discovery answered by the transport: {1,0}, {1,1}, {1,2}', async () => {
    let calls = 0;
    const t = createInProcessPair('pci_doe', async (m) => {
      calls++;
      return m;
    });
    assert.deepStrictEqual(await doeDiscovery(t), [
      { vendorId: 1, dataObjectType: 0, nextIndex: 1 },
      { vendorId: 1, dataObjectType: 1, nextIndex: 2 },
      { vendorId: 1, dataObjectType: 2, nextIndex: 0 },
    ]);
    assert.equal(calls, 0, 'the SPDM handler never saw the discovery objects');
    const custom = createInProcessPair('pci_doe', mirror, {
      doeDiscovery: doeDiscoveryResponder([{ vendorId: 1, dataObjectType: 1 }]),
    });
    assert.deepStrictEqual(await doeDiscovery(custom), [
      { vendorId: 1, dataObjectType: 1, nextIndex: 0 },
    ]);
    const looping = createInProcessPair('pci_doe', mirror, {
      doeDiscovery: () => ({ vendorId: 1, dataObjectType: 0, nextIndex: 1 }),
    });
    await assert.rejects(doeDiscovery(looping), { code: 'bad-payload' });
    await assert.rejects(doeDiscovery(createInProcessPair('mctp', mirror)), {
      code: 'unexpected-command',
    });
  });

  test('no reply, slow reply, bad reply, bad request', async () => {
    const silent = createInProcessPair('mctp', async () => undefined);
    await assert.rejects(silent.exchange({ secured: false, bytes: Uint8Array.of(1) }), {
      code: 'no-response',
    });
    const slow = createInProcessPair(
      'mctp',
      () =>
        new Promise<TransportMessage>((r) =>
          setTimeout(() => r({ secured: false, bytes: new Uint8Array(1) }), 200),
        ),
    );
    await assert.rejects(slow.exchange({ secured: false, bytes: Uint8Array.of(1) }, 20), {
      code: 'timeout',
    });
    // A secured reply whose record does not fit the DOE rules is a bad payload, not a crash.
    const liar = createInProcessPair('pci_doe', async () => ({
      secured: true,
      bytes: Uint8Array.of(1, 2, 3, 4, 99, 0),
    }));
    await assert.rejects(liar.exchange({ secured: false, bytes: Uint8Array.of(1) }), {
      code: 'bad-payload',
    });
    const t = createInProcessPair('mctp', mirror);
    await assert.rejects(t.exchangeRaw!(Uint8Array.of(0x01, 0x00)), { code: 'bad-payload' });
    // Exchanges are serialised: the second starts after the first ends.
    const order: number[] = [];
    const q = createInProcessPair('mctp', async (m) => {
      order.push(m.bytes[0]);
      await new Promise((r) => setTimeout(r, 5));
      order.push(m.bytes[0]);
      return m;
    });
    await Promise.all(
      [1, 2, 3].map((i) => q.exchange({ secured: false, bytes: Uint8Array.of(i) })),
    );
    assert.deepStrictEqual(order, [1, 1, 2, 2, 3, 3]);
  });
});
