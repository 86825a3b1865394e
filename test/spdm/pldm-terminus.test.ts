/**
 * The PLDM terminus behind teeio's MCTP responder (DSP0240 base): each request and the
 * exact response bytes, written out from DSP0240's header and completion-code tables.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { pldmTerminusRespond } from '../../src/spdm/responder/pldm-terminus.ts';
import { fromHex, toHex } from '../../src/wire/hex.ts';

const TERMINUS = { tid: 0x42 };

const CASES: { name: string; request: string; response?: string; dropped?: RegExp }[] = [
  // spdm-emu's GetTID: instance 0. Response Rq=0, same instance/type/command, SUCCESS, TID.
  { name: 'PLDM GetTID', request: '800002', response: '000002' + '00' + '42' },
  { name: 'PLDM GetTID', request: '9f0002', response: '1f0002' + '00' + '42' },
  // GetPLDMTypes: only type 0 (bit 0 of the 64-bit field).
  { name: 'PLDM GetPLDMTypes', request: '810004', response: `010004000100000000000000` },
  // GetPLDMCommands for type 0, version 1.0.0: GetTID, GetPLDMTypes, GetPLDMCommands = bits 2, 4, 5.
  {
    name: 'PLDM GetPLDMCommands',
    request: '82000500f1f0f000',
    response: `02000500${'34'}${'00'.repeat(31)}`,
  },
  // GetPLDMCommands for type 2: ERROR_INVALID_PLDM_TYPE (0x20).
  { name: 'PLDM GetPLDMCommands', request: '83000502f1f0f000', response: '03000520' },
  // GetPLDMCommands with a short request: ERROR_INVALID_LENGTH (0x03).
  { name: 'PLDM GetPLDMCommands', request: '84000500', response: '04000503' },
  // GetTID with trailing data: ERROR_INVALID_LENGTH.
  { name: 'PLDM GetTID', request: '85000201', response: '05000203' },
  // SetTID: not served (the TID is configuration): ERROR_UNSUPPORTED_PLDM_CMD (0x05).
  { name: 'PLDM SetTID', request: '86000107', response: '06000105' },
  // An unknown type 0 command: ERROR_UNSUPPORTED_PLDM_CMD.
  { name: 'PLDM type 0x00 command 0x3f', request: '87003f', response: '07003f05' },
  // PLDM for Platform Monitoring (type 2): ERROR_INVALID_PLDM_TYPE.
  { name: 'PLDM type 0x02 command 0x11', request: '880211', response: '08021120' },
  // Not answered: a response, an unacknowledged request, Hdr Ver 1, a short header.
  { name: 'PLDM GetTID', request: '0000020001', dropped: /response/ },
  { name: 'PLDM GetTID', request: 'c00002', dropped: /D=1/ },
  { name: 'PLDM GetTID', request: '804002', dropped: /header version 1/ },
  { name: 'PLDM', request: '80', dropped: /malformed/ },
];

describe('PLDM terminus (DSP0240 Control and Discovery)', () => {
  for (const c of CASES) {
    test(`${c.request} -> ${c.response ?? 'nothing'}`, () => {
      const out = pldmTerminusRespond(TERMINUS, fromHex(c.request));
      assert.equal(out.name, c.name);
      if (c.response === undefined) {
        assert.equal(out.response, undefined);
        assert.match(out.dropped ?? '', c.dropped ?? /./);
      } else {
        assert.equal(toHex(out.response ?? new Uint8Array()), c.response);
        assert.equal(out.dropped, undefined);
      }
    });
  }

  test('property: any bytes get an outcome, never a throw; an answer echoes the instance id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        const out = pldmTerminusRespond(TERMINUS, b);
        assert.ok((out.response === undefined) !== (out.dropped === undefined));
        if (out.response) {
          assert.equal(out.response[0], b[0] & 0x1f, 'Rq=0 D=0, same Instance ID');
          assert.deepEqual([...out.response.subarray(1, 3)], [b[1], b[2]]);
        }
      }),
    );
  });
});
