/**
 * Trace events of the Device Security Manager (STYLE.md convention 8: a typed union, no
 * free-text logs). Every request the DSM answers, every TDI transition and every effect it
 * has on the hardware is one event, so invariants can watch the DSM from outside.
 */
import type { WireError, WireErrorKind } from '../../wire/errors.ts';
import type { ConfigSecurityEvent } from '../events.ts';
import type { CxlTspStateName } from './cxl-tsp/target.ts';
import type { IdeStreamState } from './hardware.ts';
import type { SessionRef, TdiStateName } from './tdi.ts';

/** The WireError's position facts, kept in the trace of a request refused as malformed. */
export interface MalformedAt {
  field: string;
  offset: number;
  kind: WireErrorKind;
}

/** The trace form of a decoder's WireError. */
export function malformedAt(e: WireError): MalformedAt {
  return { field: e.field, offset: e.offset, kind: e.kind };
}

export type DsmEvent =
  /** A TDISP request was answered (`result` is the response name or the TDISP_ERROR code name). */
  | {
      kind: 'TDISP_REQUEST';
      session?: SessionRef;
      fn?: number;
      request: string;
      result: string;
      /** Where the request failed to decode, when it was refused as malformed. */
      malformed?: MalformedAt;
    }
  /** A TDISP or IDE_KM request got no response (outside a secured session). */
  | { kind: 'IGNORED'; protocol: 'TDISP' | 'IDE_KM' | 'CXL_IDE_KM'; reason: 'outside-session' }
  | {
      kind: 'IDE_KM_REQUEST';
      session?: SessionRef;
      object: string;
      streamId?: number;
      slot?: string;
      result: string;
      /** Where the request failed to decode, when it was refused as malformed. */
      malformed?: MalformedAt;
    }
  /** A CXL_IDE_KM request was answered (`result` is the response, with its status). */
  | {
      kind: 'CXL_IDE_KM_REQUEST';
      session?: SessionRef;
      object: string;
      portIndex?: number;
      direction?: 'RX' | 'TX';
      result: string;
      malformed?: MalformedAt;
    }
  /** A port direction's CXL IDE state (CXL IDE Status register) changed. */
  | {
      kind: 'CXL_IDE_STATE';
      portIndex: number;
      direction: 'RX' | 'TX';
      state: 'SKID' | 'CONTAINMENT' | 'INSECURE';
      cause: string;
    }
  /** A CXL TSP request was answered (`result` is the response, or ERROR_RSP and its code). */
  | {
      kind: 'CXL_TSP_REQUEST';
      session?: SessionRef;
      request: string;
      result: string;
      malformed?: MalformedAt;
    }
  /** The CXL TSP target's state changed (LOCK_TARGET_CONFIGURATION, session end). */
  | { kind: 'CXL_TSP_STATE'; from: CxlTspStateName; to: CxlTspStateName; cause: string }
  | { kind: 'TDI_STATE'; fn: number; from: TdiStateName; to: TdiStateName; cause: string }
  | { kind: 'IDE_STREAM_STATE'; streamId: number; state: IdeStreamState; cause: string }
  /** A config-space ERROR trigger arrived; `tdis` are the functions it sent to ERROR. */
  | { kind: 'ERROR_TRIGGER'; fn: number; event: ConfigSecurityEvent; tdis: number[] }
  | { kind: 'SCRUB'; fn: number }
  /** A handler threw: a DSM bug, answered with SPDM ERROR Unspecified so the link survives. */
  | {
      kind: 'INTERNAL_ERROR';
      protocol: 'TDISP' | 'IDE_KM' | 'CXL_IDE_KM' | 'CXL_TSP' | 'CONFIG';
      message: string;
    }
  | { kind: 'MSIX_LOCK'; fn: number; locked: boolean }
  /**
   * The device's firmware was to be updated: 'applied' (the new version runs, its
   * measurements change), or 'refused' because TDIs locked with NO_FW_UPDATE are in
   * CONFIG_LOCKED or RUN (`blockedBy`, their functions).
   */
  | {
      kind: 'FIRMWARE_UPDATE';
      from: number;
      to: number;
      result: 'applied' | 'refused';
      blockedBy: number[];
    };
