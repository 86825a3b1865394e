/**
 * QUERY (0x00) and its answer QUERY_RESP (0x01): PCIe Base 6.x 6.33.3. QUERY: Reserved u8 |
 * PortIndex u8. QUERY_RESP: Reserved u8 | PortIndex u8 | DevFuncNum u8 | BusNum u8 |
 * Segment u8 | MaxPortIndex u8 | the port's IDE Extended Capability registers (u32s).
 */
import type { IdeKmFamilyCodec } from './codec.ts';
import type { PCI_IDE_KM_OBJECT_ID_QUERY, PCI_IDE_KM_OBJECT_ID_QUERY_RESP } from './constants.ts';

export interface IdeKmQuery {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_QUERY;
  reserved?: number;
  portIndex: number;
}

export interface IdeKmQueryResp {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_QUERY_RESP;
  reserved?: number;
  portIndex: number;
  /** Device (7:3) and function (2:0) number of the port's function. */
  devFuncNum: number;
  busNum: number;
  segment: number;
  maxPortIndex: number;
  /**
   * The IDE Extended Capability registers as u32s: IDE Capability, IDE Control, then the
   * Link IDE and Selective IDE stream register blocks. The count is the byte count / 4.
   */
  ideRegisters: readonly number[];
}

export const queryCodec: IdeKmFamilyCodec<IdeKmQuery> = {
  name: 'QUERY',
  decode(r, objectId) {
    const reserved = r.reservedU8('Reserved');
    const q: IdeKmQuery = {
      objectId: objectId as IdeKmQuery['objectId'],
      portIndex: r.u8('PortIndex'),
    };
    if (reserved !== undefined) q.reserved = reserved;
    return q;
  },
  encode(w, m) {
    w.u8(m.reserved ?? 0, 'Reserved').u8(m.portIndex, 'PortIndex');
  },
};

export const queryRespCodec: IdeKmFamilyCodec<IdeKmQueryResp> = {
  name: 'QUERY_RESP',
  decode(r, objectId) {
    const reserved = r.reservedU8('Reserved');
    const q: IdeKmQueryResp = {
      objectId: objectId as IdeKmQueryResp['objectId'],
      portIndex: r.u8('PortIndex'),
      devFuncNum: r.u8('DevFuncNum'),
      busNum: r.u8('BusNum'),
      segment: r.u8('Segment'),
      maxPortIndex: r.u8('MaxPortIndex'),
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
      .u8(m.maxPortIndex, 'MaxPortIndex');
    for (const v of m.ideRegisters) w.u32(v, 'IdeRegister');
  },
};
