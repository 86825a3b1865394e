/**
 * BIND_P2P_STREAM_REQUEST (0x88) / UNBIND_P2P_STREAM_REQUEST (0x89) and their responses
 * (0x08 / 0x09): PCIe Base 6.x 11.3.18 - 11.3.21. Requests carry P2P_STREAM_ID u8; TDISP 1.1
 * appends STREAM_CONFIG u8 to BIND. Responses are the header alone.
 */
import type { TdispFamilyCodec } from './codec.ts';
import type {
  PCI_TDISP_BIND_P2P_STREAM_REQ,
  PCI_TDISP_BIND_P2P_STREAM_RSP,
  PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  PCI_TDISP_UNBIND_P2P_STREAM_RSP,
} from './constants.ts';
import { headerOnlyCodec, type TdispMsg, withBody } from './header.ts';

export type BindP2PStreamRequest = TdispMsg<
  typeof PCI_TDISP_BIND_P2P_STREAM_REQ,
  {
    p2pStreamId: number;
    /**
     * TDISP 1.1 stream_config byte: present (any value, 0 included) when the request
     * carries it, absent for the 1.0 layout that ends after P2P_STREAM_ID.
     */
    streamConfig?: number;
  }
>;
export type BindP2PStreamResponse = TdispMsg<typeof PCI_TDISP_BIND_P2P_STREAM_RSP>;
export type UnbindP2PStreamRequest = TdispMsg<
  typeof PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  { p2pStreamId: number }
>;
export type UnbindP2PStreamResponse = TdispMsg<typeof PCI_TDISP_UNBIND_P2P_STREAM_RSP>;

export const bindP2PStreamRequestCodec: TdispFamilyCodec<BindP2PStreamRequest> = {
  name: 'BIND_P2P_STREAM_REQUEST',
  decode(r, h) {
    const b = withBody<BindP2PStreamRequest>(h, { p2pStreamId: r.u8('P2P_STREAM_ID') });
    if (r.remaining > 0) b.streamConfig = r.u8('STREAM_CONFIG');
    return b;
  },
  encode(w, m) {
    w.u8(m.p2pStreamId, 'P2P_STREAM_ID');
    if (m.streamConfig !== undefined) w.u8(m.streamConfig, 'STREAM_CONFIG');
  },
};
export const bindP2PStreamResponseCodec = headerOnlyCodec<BindP2PStreamResponse>(
  'BIND_P2P_STREAM_RESPONSE',
);

export const unbindP2PStreamRequestCodec: TdispFamilyCodec<UnbindP2PStreamRequest> = {
  name: 'UNBIND_P2P_STREAM_REQUEST',
  decode: (r, h) => withBody<UnbindP2PStreamRequest>(h, { p2pStreamId: r.u8('P2P_STREAM_ID') }),
  encode(w, m) {
    w.u8(m.p2pStreamId, 'P2P_STREAM_ID');
  },
};
export const unbindP2PStreamResponseCodec = headerOnlyCodec<UnbindP2PStreamResponse>(
  'UNBIND_P2P_STREAM_RESPONSE',
);
