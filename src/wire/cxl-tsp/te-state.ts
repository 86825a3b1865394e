/**
 * SET_TARGET_TE_STATE (0x8D), CXL 3.x 11.5: header | TEState u8 | NumberOfMemoryRanges u8 |
 * reserved [12] | memory ranges (StartingAddress u64 | Length u64) [NumberOfMemoryRanges].
 * Its answer is SET_TARGET_TE_STATE_RSP (simple.ts).
 */
import type { CxlTspFamilyCodec } from './codec.ts';
import type { CXL_TSP_OPCODE_SET_TARGET_TE_STATE } from './constants.ts';

export interface CxlTspMemoryRange {
  startingAddress: bigint;
  length: bigint;
}

export interface CxlTspSetTeState {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_SET_TARGET_TE_STATE;
  /** 1: the ranges are TEE (encrypted, access controlled), 0: not. */
  teState: number;
  reserved?: Uint8Array;
  memoryRanges: CxlTspMemoryRange[];
}

export const cxlTspSetTeStateCodec: CxlTspFamilyCodec<CxlTspSetTeState> = {
  name: 'SET_TARGET_TE_STATE',
  decode(r, version, opCode) {
    const teState = r.u8('TEState');
    const n = r.u8('NumberOfMemoryRanges');
    const reserved = r.reservedBytes(12, 'Reserved');
    const memoryRanges: CxlTspMemoryRange[] = [];
    for (let i = 0; i < n; i++) {
      memoryRanges.push({ startingAddress: r.u64('StartingAddress'), length: r.u64('Length') });
    }
    const m: CxlTspSetTeState = {
      version,
      opCode: opCode as CxlTspSetTeState['opCode'],
      teState,
      memoryRanges,
    };
    if (reserved) m.reserved = reserved;
    return m;
  },
  encode(w, m) {
    w.u8(m.teState, 'TEState').u8(m.memoryRanges.length, 'NumberOfMemoryRanges');
    w.fixed(m.reserved ?? new Uint8Array(12), 12, 'Reserved');
    for (const x of m.memoryRanges) {
      w.u64(x.startingAddress, 'StartingAddress').u64(x.length, 'Length');
    }
  },
};
