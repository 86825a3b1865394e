/**
 * The SPDM responder engine (DSP0274 1.0-1.3 with DSP0277 secured messages), modelled on
 * libspdm's responder: one synchronous `handle` per transport message, so a DOE mailbox can
 * call it directly. This class is the driver: it holds the normalised configuration and the
 * ResponderState (plain data, state.ts) and runs `responderStep` (step.ts) for each
 * message. Forking a world = structuredClone(`stateSnapshot()`) + the same (or an
 * equivalent) configuration, given to `SpdmResponder.resume`.
 */

import { clonePlain } from '../../wire/clone.ts';
import type { SecuredBinding } from '../../wire/secured.ts';
import type { TransportMessage } from '../../wire/transport.ts';
import { type ResponderConfig, responderConfig } from '../config.ts';
import type { SessionState } from '../session.ts';
import { ResponderContext } from './context.ts';
import { expireIdleSessions } from './heartbeat-watchdog.ts';
import { type ConnectionState, initialResponderState, type ResponderState } from './state.ts';
import { responderStep } from './step.ts';

/** Public view of one open session. */
export interface ResponderSessionInfo {
  sessionId: number;
  kind: 'dhe' | 'psk';
  phase: 'handshake' | 'established' | 'ended';
}

export class SpdmResponder {
  readonly config: ResponderConfig;
  private st: ResponderState;

  /**
   * @param binding the transport binding (decides the secured-record layout)
   * @throws RangeError when the configuration cannot work (see responderConfig).
   */
  constructor(
    config: Partial<ResponderConfig> | ResponderConfig,
    binding: SecuredBinding = 'pci_doe',
  ) {
    this.config = responderConfig(config);
    this.st = initialResponderState(binding);
  }

  /**
   * A responder that carries on from `state` (a structuredClone of another responder's
   * `stateSnapshot()`); the state is taken over, not copied.
   * @throws RangeError when the configuration cannot work (see responderConfig).
   */
  static resume(
    config: Partial<ResponderConfig> | ResponderConfig,
    state: ResponderState,
  ): SpdmResponder {
    const r = new SpdmResponder(config, state.binding);
    r.st = state;
    return r;
  }

  /** The connection state (a copy). */
  get state(): ConnectionState {
    return clonePlain(this.st.connection);
  }

  /**
   * A deep copy of the engine's whole state (plain data), e.g. to fork a world; what is
   * unchanged since `prev` (an earlier snapshot) is prev's own (wire/clone.ts).
   */
  stateSnapshot(prev?: ResponderState): ResponderState {
    return clonePlain(this.st, undefined, prev);
  }

  /**
   * Carries on from `state` (a `stateSnapshot()` of a responder with this configuration) in
   * place, for holders of this responder (a DOE mailbox handler): restoring a world snapshot.
   */
  restore(state: ResponderState): void {
    this.st = clonePlain(state);
  }

  /** The open sessions. */
  sessions(): ResponderSessionInfo[] {
    return [...this.st.sessions.values()].map((s) => ({
      sessionId: s.session.id,
      kind: s.session.kind,
      phase: s.session.phase,
    }));
  }

  /** A session's state (for keylog export and tests); undefined when not open. */
  session(id: number): SessionState | undefined {
    return this.st.sessions.get(id)?.session;
  }

  /**
   * Answers one message. Never throws on peer bytes: anything malformed becomes an SPDM
   * ERROR (or, for records of unknown sessions, no answer at all).
   * @returns the response, or undefined when nothing is to be sent.
   */
  handle(m: TransportMessage): TransportMessage | undefined {
    const r = responderStep(this.st, this.config, m);
    this.st = r.state;
    return r.response;
  }

  /**
   * Ends the sessions idle for twice their HeartbeatPeriod (also done before each message
   * is handled); for a server that wants them gone without waiting for traffic.
   * @returns the ids of the sessions ended.
   */
  expireIdleSessions(): number[] {
    return expireIdleSessions(new ResponderContext(this.config, this.st));
  }
}
