/**
 * PLDM base codec (DSP0240): header bits, request / response split, Control and Discovery
 * data. Expected bytes are written out from the DSP0240 field tables, not produced by the
 * encoder; every header byte value decodes and re-encodes unchanged.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../../src/wire/hex.ts';
import {
  decodePldmControlRequest,
  decodePldmControlResponse,
  decodePldmMessage,
  encodePldmControlRequest,
  encodePldmControlResponse,
  encodePldmMessage,
  type PldmControlRequestData,
  type PldmControlResponseData,
  type PldmMessage,
} from '../../../src/wire/pldm/index.ts';
import { checkRobust } from '../../support/robust.ts';
import { wireErrorExpecter } from '../expect-wire-error.ts';

const expectWireError = wireErrorExpecter('PLDM');

const MESSAGES: { name: string; hex: string; m: PldmMessage }[] = [
  {
    // spdm-emu's pldm_control_get_tid: Rq=1, instance 0 | Hdr Ver 0, type 0 | GetTID.
    name: 'GetTID request',
    hex: '800002',
    m: {
      request: true,
      datagram: false,
      instanceId: 0,
      headerVersion: 0,
      pldmType: 0,
      command: 2,
      data: new Uint8Array(),
    },
  },
  {
    name: 'GetTID response, TID 1',
    hex: '0000020001',
    m: {
      request: false,
      datagram: false,
      instanceId: 0,
      headerVersion: 0,
      pldmType: 0,
      command: 2,
      completionCode: 0,
      data: Uint8Array.of(1),
    },
  },
  {
    // Rq=1 D=1 instance 0x1F | Hdr Ver 01b, type 0x3F (OEM) | command 0x10.
    name: 'unacknowledged OEM request, header version 1',
    hex: 'df7f10aabb',
    m: {
      request: true,
      datagram: true,
      instanceId: 31,
      headerVersion: 1,
      pldmType: 0x3f,
      command: 0x10,
      data: Uint8Array.of(0xaa, 0xbb),
    },
  },
  {
    // reserved bit 5 kept; ERROR_UNSUPPORTED_PLDM_CMD (0x05).
    name: 'response with the reserved bit set',
    hex: '25020905',
    m: {
      request: false,
      datagram: false,
      reserved: 0x20,
      instanceId: 5,
      headerVersion: 0,
      pldmType: 2,
      command: 9,
      completionCode: 5,
      data: new Uint8Array(),
    },
  },
];

describe('PLDM message header (DSP0240)', () => {
  for (const { name, hex, m } of MESSAGES) {
    test(`${name}: ${hex}`, () => {
      assert.deepEqual(decodePldmMessage(fromHex(hex)), m);
      assert.equal(toHex(encodePldmMessage(m)), hex);
    });
  }

  test('short messages are typed errors naming the field', () => {
    expectWireError(() => decodePldmMessage(new Uint8Array()), 'truncated', 'Rq/D/InstanceID');
    expectWireError(() => decodePldmMessage(fromHex('8000')), 'truncated', 'PLDMCommandCode');
    // A response needs its Completion Code.
    expectWireError(() => decodePldmMessage(fromHex('000002')), 'truncated', 'CompletionCode');
  });

  test('fields that do not fit are refused by the encoder', () => {
    const base = MESSAGES[0].m;
    assert.throws(() => encodePldmMessage({ ...base, instanceId: 32 }), RangeError);
    assert.throws(() => encodePldmMessage({ ...base, pldmType: 64 }), RangeError);
    assert.throws(() => encodePldmMessage({ ...base, headerVersion: 4 }), RangeError);
  });

  test('property: any message of 3+ bytes (4+ for responses) round-trips byte-exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 40 }), (b) => {
        assert.deepEqual(encodePldmMessage(decodePldmMessage(b)), b);
      }),
    );
    checkRobust('PLDM', fc.constantFrom(...MESSAGES.map((x) => fromHex(x.hex))), (b) =>
      decodePldmMessage(b),
    );
  });
});

describe('PLDM Control and Discovery data (DSP0240)', () => {
  const REQUESTS: { hex: string; m: PldmControlRequestData }[] = [
    { hex: '', m: { command: 0x02 } },
    { hex: '', m: { command: 0x04 } },
    { hex: '07', m: { command: 0x01, tid: 7 } },
    // PLDMType 0, Version ver32 1.0.0 = F1 F0 F0 00 (u32 0x00F0F0F1 little-endian).
    { hex: '00f1f0f000', m: { command: 0x05, pldmType: 0, version: 0x00f0f0f1 } },
  ];
  for (const { hex, m } of REQUESTS) {
    test(`request data of command 0x${m.command.toString(16)}: '${hex}'`, () => {
      assert.deepEqual(decodePldmControlRequest(m.command, fromHex(hex)), m);
      assert.equal(toHex(encodePldmControlRequest(m)), hex);
    });
  }

  const RESPONSES: { hex: string; m: PldmControlResponseData }[] = [
    { hex: '01', m: { command: 0x02, tid: 1 } },
    { hex: '', m: { command: 0x01 } },
    // Types 0 and 63: bit 0 of byte 0, bit 7 of byte 7.
    { hex: '0100000000000080', m: { command: 0x04, types: [0, 63] } },
    // Commands 2, 4, 5: byte 0 = 0b0011_0100; 255: bit 7 of byte 31.
    {
      hex: `34${'00'.repeat(30)}80`,
      m: { command: 0x05, commands: [2, 4, 5, 255] },
    },
  ];
  for (const { hex, m } of RESPONSES) {
    test(`response data of command 0x${m.command.toString(16)}: '${hex}'`, () => {
      assert.deepEqual(decodePldmControlResponse(m.command, fromHex(hex)), m);
      assert.equal(toHex(encodePldmControlResponse(m)), hex);
    });
  }

  test('wrong lengths are typed errors; commands without a layout are undefined', () => {
    expectWireError(() => decodePldmControlRequest(0x02, fromHex('00')), 'trailing');
    expectWireError(() => decodePldmControlRequest(0x05, fromHex('00f1')), 'truncated', 'Version');
    expectWireError(() => decodePldmControlResponse(0x04, fromHex('01')), 'truncated', 'PLDMTypes');
    assert.equal(decodePldmControlRequest(0x03, fromHex('0000000001')), undefined);
    assert.equal(decodePldmControlResponse(0x09, new Uint8Array()), undefined);
    assert.throws(() => encodePldmControlResponse({ command: 0x04, types: [64] }), RangeError);
  });
});
