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

  it('names CXL_IDE_KM and CXL TSP messages under the CXL VendorID (98 1E)', () => {
    assert.deepEqual(describeSpdm(plain(94)), {
      protocol: 'CXL_IDE_KM',
      name: 'QUERY',
      detail: 'port 0',
    });
    assert.deepEqual(describeSpdm(plain(95)), {
      protocol: 'CXL_IDE_KM',
      name: 'QUERY_RESP',
      detail: 'port 0 caps 0x71 max_port 7',
    });
    assert.deepEqual(describeSpdm(plain(106)), {
      protocol: 'CXL_TSP',
      name: 'GET_TARGET_TSP_VERSION',
      detail: 'TSP 1.0',
    });
    // ERROR_RSP UNSUPPORTED_REQUEST, written out: CXL VDM | ProtocolID 1 | 10 7F 0000 04000000 00000000.
    assert.deepEqual(
      describeSpdm(fromHex('137e0000 0300 02 981e 0d00 01 107f0000 04000000 00000000')),
      { protocol: 'CXL_TSP', name: 'ERROR_RSP', detail: 'UNSUPPORTED_REQUEST' },
    );
  });

  it('describes other vendors as plain VDMs', () => {
    // StandardID 3, VendorID 0x1234, ProtocolID 0 and a byte.
    const d = describeSpdm(fromHex('13fe0000 0300 02 3412 0200 00 aa'));
    assert.equal(d.protocol, 'VDM');
    assert.match(d.detail, /VendorID 3412/);
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
