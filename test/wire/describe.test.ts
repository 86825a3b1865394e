import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSpdm } from '../../src/wire/describe.ts';
import { fromHex } from '../../src/wire/hex.ts';
import { loadCapture } from '../support/captures.ts';

describe('describeSpdm', () => {
  const frames = loadCapture('doe-spdm13-session.txt');
  const plain = (i: number) => frames[i].plaintext!;

  it('names IDE_KM and TDISP messages inside PCI-SIG vendor-defined messages', () => {
    assert.deepEqual(describeSpdm(plain(36)), {
      protocol: 'IDE_KM',
      name: 'KEY_PROG',
      detail: 'stream 0 PR RX K0',
    });
    const lock = describeSpdm(plain(66));
    assert.equal(lock.protocol, 'TDISP');
    assert.equal(lock.name, 'LOCK_INTERFACE_REQUEST');
    assert.match(
      lock.detail,
      /if 0xbeef flags NO_FW_UPDATE\|SYSTEM_CACHE_LINE_SIZE\|LOCK_MSIX stream 0 offset 0xd0000000/,
    );
    assert.match(describeSpdm(plain(69)).detail, /CONFIG_LOCKED/);
  });

  it('describes other registries as plain VDMs', () => {
    const d = describeSpdm(plain(94));
    assert.equal(d.protocol, 'VDM');
    assert.match(d.detail, /VendorID 981e/);
  });

  it('names unknown TDISP MessageTypes and IDE_KM Object IDs instead of calling them malformed', () => {
    // VENDOR_DEFINED_REQUEST, PCI-SIG (StandardID 3, VendorID 1), then ProtocolID + message.
    const tdisp = describeSpdm(
      fromHex('13fe0000 0300 02 0100 1300 01 10990000 efbe0000 0000000000000000 aabb'),
    );
    assert.deepEqual(tdisp, { protocol: 'TDISP', name: 'UNKNOWN(0x99)', detail: 'if 0xbeef 2 B' });
    const ideKm = describeSpdm(fromHex('13fe0000 0300 02 0100 0300 00 07aa'));
    assert.deepEqual(ideKm, { protocol: 'IDE_KM', name: 'UNKNOWN(0x07)', detail: '1 B' });
  });

  it('never throws on bad bytes', () => {
    assert.equal(describeSpdm(new Uint8Array([0x13])).name, '(short)');
    const bad = describeSpdm(fromHex('13fe0000 0300 02 0100 0500 01 10'));
    assert.ok(bad.malformed, 'a truncated TDISP message is reported as malformed');
    assert.equal(describeSpdm(fromHex('1384')).malformed !== undefined, true);
  });
});
