/**
 * QUERY (0x00) and its answer QUERY_RESP (0x01): CXL 3.x 11.4 (discovery). QUERY: Reserved
 * u8 | PortIndex u8. QUERY_RESP: Reserved u8 | PortIndex u8 | DevFuncNum u8 | BusNum u8 |
 * Segment u8 | MaxPortIndex u8 | Caps u8 | the port's CXL IDE Capability Structure
 * (8.2.4.22) as u32s.
 */
import type { CxlIdeKmFamilyCodec } from './codec.ts';
import type { CXL_IDE_KM_OBJECT_ID_QUERY, CXL_IDE_KM_OBJECT_ID_QUERY_RESP } from './constants.ts';

export interface CxlIdeKmQuery {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_QUERY;
  reserved?: number;
  portIndex: number;
}

export interface CxlIdeKmQueryResp {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_QUERY_RESP;
  reserved?: number;
  portIndex: number;
  devFuncNum: number;
  busNum: number;
  segment: number;
  maxPortIndex: number;
  /** Version (3:0), IV generation (4), key generation (5), K_SET_STOP (6) capable. */
  caps: number;
  /** The CXL IDE Capability Structure registers; the count is the byte count / 4. */
  ideRegisters: readonly number[];
}

export const cxlQueryCodec: CxlIdeKmFamilyCodec<CxlIdeKmQuery> = {
  name: 'QUERY',
  decode(r, objectId) {
    const reserved = r.reservedU8('Reserved');
    const q: CxlIdeKmQuery = {
      objectId: objectId as CxlIdeKmQuery['objectId'],
      portIndex: r.u8('PortIndex'),
    };
    if (reserved !== undefined) q.reserved = reserved;
    return q;
  },
  encode(w, m) {
    w.u8(m.reserved ?? 0, 'Reserved').u8(m.portIndex, 'PortIndex');
  },
};

export const cxlQueryRespCodec: CxlIdeKmFamilyCodec<CxlIdeKmQueryResp> = {
  name: 'QUERY_RESP',
  decode(r, objectId) {
    const reserved = r.reservedU8('Reserved');
    const q: CxlIdeKmQueryResp = {
      objectId: objectId as CxlIdeKmQueryResp['objectId'],
      portIndex: r.u8('PortIndex'),
      devFuncNum: r.u8('DevFuncNum'),
      busNum: r.u8('BusNum'),
      segment: r.u8('Segment'),
      maxPortIndex: r.u8('MaxPortIndex'),
      caps: r.u8('Caps'),
      ideRegisters: [],
    };
    if (r.remaining % 4 !== 0) {
      throw r.error('IdeRegisterBlock', 'bad-field', `${r.remaining} bytes is not whole dwords`);
    }
    const regs: number[] = new Array(r.remaining / 4);
    for (let i = 0; i < regs.length; i++) regs[i] = r.u32('IdeRegister');
    q.ideRegisters = regs;
    if (reserved !== undefined) q.reserved = reserved;
    return q;
  },
  encode(w, m) {
    w.u8(m.reserved ?? 0, 'Reserved')
      .u8(m.portIndex, 'PortIndex')
      .u8(m.devFuncNum, 'DevFuncNum')
      .u8(m.busNum, 'BusNum')
      .u8(m.segment, 'Segment')
      .u8(m.maxPortIndex, 'MaxPortIndex')
      .u8(m.caps, 'Caps');
    for (const v of m.ideRegisters) w.u32(v, 'IdeRegister');
  },
};
