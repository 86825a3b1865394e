/**
 * LOCK_INTERFACE_REQUEST (0x83) / LOCK_INTERFACE_RESPONSE (0x03): PCIe Base 6.x 11.3.8 /
 * 11.3.9. Request: FLAGS u16 | DEFAULT_STREAM_ID u8 | Reserved u8 | MMIO_REPORTING_OFFSET
 * u64 | BIND_P2P_ADDRESS_MASK u64. Response: START_INTERFACE_NONCE[32], which
 * START_INTERFACE_REQUEST sends back (start.ts reuses the nonce codec).
 */
import type { TdispFamilyCodec } from './codec.ts';
import {
  type PCI_TDISP_LOCK_INTERFACE_REQ,
  type PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_START_INTERFACE_NONCE_SIZE,
} from './constants.ts';
import { type TdispHeader, type TdispMsg, withBody } from './header.ts';
import type { StartInterfaceRequest } from './start.ts';

export type LockInterfaceRequest = TdispMsg<
  typeof PCI_TDISP_LOCK_INTERFACE_REQ,
  {
    /** LOCK_INTERFACE_FLAGS bits; unknown bits kept. */
    flags: number;
    defaultStreamId: number;
    /** The reserved byte after DEFAULT_STREAM_ID; absent when zero. */
    lockReserved?: number;
    mmioReportingOffset: bigint;
    bindP2PAddressMask: bigint;
  }
>;
export type LockInterfaceResponse = TdispMsg<
  typeof PCI_TDISP_LOCK_INTERFACE_RSP,
  { startInterfaceNonce: Uint8Array }
>;

export const lockInterfaceRequestCodec: TdispFamilyCodec<LockInterfaceRequest> = {
  name: 'LOCK_INTERFACE_REQUEST',
  decode(r, h) {
    const flags = r.u16('FLAGS');
    const defaultStreamId = r.u8('DEFAULT_STREAM_ID');
    const lockReserved = r.reservedU8('Reserved');
    const l = withBody<LockInterfaceRequest>(h, {
      flags,
      defaultStreamId,
      mmioReportingOffset: r.u64('MMIO_REPORTING_OFFSET'),
      bindP2PAddressMask: r.u64('BIND_P2P_ADDRESS_MASK'),
    });
    if (lockReserved !== undefined) l.lockReserved = lockReserved;
    return l;
  },
  encode(w, m) {
    w.u16(m.flags, 'FLAGS')
      .u8(m.defaultStreamId, 'DEFAULT_STREAM_ID')
      .u8(m.lockReserved ?? 0, 'Reserved')
      .u64(m.mmioReportingOffset, 'MMIO_REPORTING_OFFSET')
      .u64(m.bindP2PAddressMask, 'BIND_P2P_ADDRESS_MASK');
  },
};

/** The codec of a message whose body is START_INTERFACE_NONCE alone. */
export function nonceCodec<M extends LockInterfaceResponse | StartInterfaceRequest>(
  name: string,
): TdispFamilyCodec<M> {
  return {
    name,
    decode: (r, h) =>
      withBody<M>(h, {
        startInterfaceNonce: r.bytes(PCI_TDISP_START_INTERFACE_NONCE_SIZE, 'START_INTERFACE_NONCE'),
      } as Omit<M, keyof TdispHeader>),
    encode(w, m) {
      w.fixed(m.startInterfaceNonce, PCI_TDISP_START_INTERFACE_NONCE_SIZE, 'START_INTERFACE_NONCE');
    },
  };
}

export const lockInterfaceResponseCodec =
  nonceCodec<LockInterfaceResponse>('LOCK_INTERFACE_RESPONSE');
