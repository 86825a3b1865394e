/**
 * What a requester can be asked to do (DSP0274 1.0-1.3 requests, DSP0277 sessions), as
 * data: one RequesterCall per SpdmRequester method, and the result each call ends with.
 * A call of several messages (VCA, a chunked certificate, KEY_EXCHANGE + FINISH,
 * KEY_UPDATE + VerifyNewKey) is still one call: step.ts carries it message by message.
 */
import type { ChallengeResult } from './challenge.ts';
import type { DigestsResult } from './digests.ts';
import type { KeyExchangeOptions } from './key-exchange.ts';
import type { KeyUpdateOperation } from './key-update.ts';
import type { MeasurementsCall, MeasurementsResult } from './measurements.ts';
import type { ChainRecord, Negotiated, PeerCapabilities } from './state.ts';
import type { VendorDefinedMessage } from './vendor-defined.ts';
import type { VersionResult } from './version.ts';

export interface ConnectResult {
  version: VersionResult;
  capabilities: PeerCapabilities;
  negotiated: Negotiated;
}

export type RequesterCall =
  /** GET_VERSION alone (starts the connection over). */
  | { kind: 'getVersion' }
  /** GET_CAPABILITIES alone (after getVersion). */
  | { kind: 'getCapabilities' }
  /** NEGOTIATE_ALGORITHMS alone (after getCapabilities). */
  | { kind: 'negotiateAlgorithms' }
  /** VCA: GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS. */
  | { kind: 'connect' }
  | { kind: 'getDigests' }
  /** GET_CERTIFICATE portion by portion, then the chain verified. */
  | { kind: 'getCertificate'; slot: number }
  /** `summary`: SPDM_MEAS_SUMMARY_NONE / _TCB / _ALL. */
  | { kind: 'challenge'; slot: number; summary: number }
  /** `request.session`, when given, is a session id. */
  | { kind: 'getMeasurements'; request: MeasurementsCall }
  /** KEY_EXCHANGE then FINISH. */
  | { kind: 'startSession'; options: KeyExchangeOptions }
  /** VENDOR_DEFINED_REQUEST, in the session when `sessionId` is given. */
  | { kind: 'vendorDefined'; sessionId?: number; message: VendorDefinedMessage }
  | { kind: 'heartbeat'; sessionId: number }
  /** KEY_UPDATE then VerifyNewKey. */
  | { kind: 'keyUpdate'; sessionId: number; operation: KeyUpdateOperation }
  | { kind: 'endSession'; sessionId: number; clearNegotiatedState: boolean }
  /**
   * Any SPDM message, for conformance tests: no legality check, no transcript, no field
   * checked; the result is the response's bytes as received.
   */
  | { kind: 'raw'; request: Uint8Array; sessionId?: number };

/** What each call ends with. */
export interface RequesterResults {
  getVersion: VersionResult;
  getCapabilities: PeerCapabilities;
  negotiateAlgorithms: Negotiated;
  connect: ConnectResult;
  getDigests: DigestsResult;
  getCertificate: ChainRecord;
  challenge: ChallengeResult;
  getMeasurements: MeasurementsResult;
  /** The new established session's id. */
  startSession: number;
  vendorDefined: VendorDefinedMessage;
  heartbeat: undefined;
  keyUpdate: undefined;
  endSession: undefined;
  raw: Uint8Array;
}

export type RequesterCallKind = RequesterCall['kind'];

/** A finished call and its result, tied together by the call's kind (`kind` narrows both). */
export type RequesterDone = {
  [K in RequesterCallKind]: {
    kind: K;
    call: Extract<RequesterCall, { kind: K }>;
    result: RequesterResults[K];
  };
}[RequesterCallKind];
