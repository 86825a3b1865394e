/**
 * What an SPDM codec needs to know beyond the bytes: sizes that follow from the
 * negotiated algorithms, and the request that a response answers. Codecs take only this,
 * never the whole connection (spdm-rs habit).
 */
import type { SpdmMessage } from './messages.ts';

/** Sizes fixed by the negotiated algorithms (WIRE.md: H, S, D). */
export interface AlgorithmSizes {
  /** H: BaseHashSel digest size (32/48/64). */
  hashSize: number;
  /** S: BaseAsymSel signature size (ECDSA r||s 64/96/132, RSA 256/384/512). */
  signatureSize: number;
  /** D: DHE exchange data size (64/96/132 for secp256r1/384r1/521r1, FFDHE 256/384/512). */
  dheSize: number;
  /** Requester signature size for mutual auth (ReqBaseAsymAlg), when it differs. */
  reqSignatureSize?: number;
  /** MeasurementHashAlgo digest size, 0 for raw bit stream only. */
  measurementHashSize?: number;
}

export interface SpdmCodecContext {
  /**
   * The negotiated SPDMVersion byte (0x10..0x13). When given, a decoded header must carry
   * it (otherwise WireError on field SPDMVersion) and version-dependent fields follow it;
   * when absent the header's own version decides the layout.
   */
  version?: number;
  /** Needed by messages whose size depends on algorithms; WireError 'bad-field' if missing. */
  sizes?: AlgorithmSizes;
  /**
   * The request this response answers, for responses whose layout depends on it:
   * MEASUREMENTS (signature requested), CHALLENGE_AUTH and KEY_EXCHANGE_RSP (summary hash
   * type), PSK_EXCHANGE_RSP.
   */
  request?: SpdmMessage;
  /** Both sides set HANDSHAKE_IN_THE_CLEAR_CAP: KEY_EXCHANGE_RSP has no VerifyData, FINISH_RSP has one. */
  handshakeInTheClear?: boolean;
}
