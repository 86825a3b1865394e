/**
 * A secured session as SpdmRequester's callers hold it (DSP0277): a handle by session id
 * that reads the requester's current state, so it follows every record sealed or opened
 * and reads as 'ended' once the session is gone. The session itself is plain data in the
 * requester's state (state.ts SessionRecord).
 */
import type { EndedSession, SessionState } from '../session.ts';
import type { SessionTranscript } from '../transcript.ts';
import { SpdmUsageError } from './errors.ts';
import type { SessionRecord } from './state.ts';

export class RequesterSession {
  /** What the session was, without its secrets: its state once it is gone. */
  private readonly ended: EndedSession;
  private readonly fixed: Omit<SessionRecord, 'secured'>;

  constructor(
    private readonly lookup: (id: number) => SessionRecord | undefined,
    record: SessionRecord,
  ) {
    const { id, kind, binding, role, schedule, aead } = record.secured;
    this.ended = { id, kind, binding, role, schedule, aead, phase: 'ended' };
    this.fixed = {
      transcript: record.transcript,
      slot: record.slot,
      heartbeatPeriod: record.heartbeatPeriod,
      securedMessageVersion: record.securedMessageVersion,
      measurementSummaryHash: record.measurementSummaryHash,
    };
  }

  private get record(): SessionRecord | undefined {
    return this.lookup(this.ended.id);
  }

  /** The record layer's state now. */
  get secured(): SessionState {
    return this.record?.secured ?? this.ended;
  }

  get transcript(): SessionTranscript {
    return this.record?.transcript ?? this.fixed.transcript;
  }

  get id(): number {
    return this.ended.id;
  }

  get kind(): 'dhe' | 'psk' {
    return this.ended.kind;
  }

  get phase(): 'handshake' | 'established' | 'ended' {
    return this.secured.phase;
  }

  /** The responder slot whose key signed KEY_EXCHANGE_RSP. */
  get slot(): number {
    return this.fixed.slot;
  }

  /** HeartbeatPeriod from KEY_EXCHANGE_RSP (seconds, 0 = none). */
  get heartbeatPeriod(): number {
    return this.fixed.heartbeatPeriod;
  }

  /** DSP0277 version the responder selected (u16 as on the wire). */
  get securedMessageVersion(): number {
    return this.fixed.securedMessageVersion;
  }

  /** MeasurementSummaryHash from KEY_EXCHANGE_RSP, when one was asked for. */
  get measurementSummaryHash(): Uint8Array | undefined {
    return this.fixed.measurementSummaryHash;
  }

  /** @throws SpdmUsageError unless the session is established. */
  requireEstablished(): void {
    if (this.phase !== 'established')
      throw new SpdmUsageError(`session 0x${this.id.toString(16)} is not established`);
  }
}
