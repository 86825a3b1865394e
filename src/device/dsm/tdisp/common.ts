/**
 * Shared pieces of the TDISP request handlers (PCIe 6.x 11.3): the request context, the
 * outcome a handler returns, and the response header rule.
 */
import { PCI_TDISP_MESSAGE_VERSION } from '../../../wire/tdisp/constants.ts';
import type { InterfaceId, TdispHeader, TdispResponse } from '../../../wire/tdisp/messages.ts';
import type { FunctionSecurityView } from '../../events.ts';
import type { DsmEvent } from '../events.ts';
import type { IdeKmState } from '../ide-km/keys.ts';
import type { DsmEnv, HwEffect } from '../state.ts';
import { type SessionRef, type Tdi, unlockedTdi } from '../tdi.ts';

export interface TdispContext {
  env: DsmEnv;
  session: SessionRef;
  /** The request's header as decoded. */
  header: TdispHeader;
  fn: number;
  tdi: Tdi;
  /** The function's live configuration. */
  view: FunctionSecurityView;
  ideKm: IdeKmState;
}

export type TdispOutcome =
  | {
      kind: 'response';
      response: TdispResponse;
      next?: Tdi;
      effects?: HwEffect[];
      events?: DsmEvent[];
    }
  | { kind: 'error'; errorCode: number; errorData?: number; next?: Tdi; events?: DsmEvent[] };

export type TdispHandler<R> = (req: R, c: TdispContext) => TdispOutcome;

/** The InterfaceID a response carries: the request's FunctionID, reserved fields zero. */
export function responseInterfaceId(h: TdispHeader): InterfaceId {
  const { requesterId, segment, segmentValid } = h.interfaceId;
  return { requesterId, segment, segmentValid };
}

/** The version and InterfaceID of a response to `h`. */
export function responseHeader(
  h: TdispHeader,
  env: DsmEnv,
): { version: number; interfaceId: InterfaceId } {
  return {
    version: env.behaviour.echoRequestVersion ? h.version : PCI_TDISP_MESSAGE_VERSION,
    interfaceId: responseInterfaceId(h),
  };
}

export function fail(errorCode: number, errorData = 0): TdispOutcome {
  return { kind: 'error', errorCode, errorData };
}

/**
 * Back to CONFIG_UNLOCKED from any state (STOP_INTERFACE, PCIe 11.3.16): device memory
 * holding guest data is scrubbed, the nonce is forgotten (it only lives in CONFIG_LOCKED),
 * P2P bindings are dropped (they only live in RUN/ERROR) and a locked MSI-X is released.
 */
export function toUnlocked(tdi: Tdi): { next: Tdi; effects: HwEffect[]; events: DsmEvent[] } {
  if (tdi.state === 'CONFIG_UNLOCKED') return { next: tdi, effects: [], events: [] };
  const effects: HwEffect[] = [{ kind: 'scrub', fn: tdi.fn }];
  const events: DsmEvent[] = tdi.lock.msixLocked
    ? [{ kind: 'MSIX_LOCK', fn: tdi.fn, locked: false }]
    : [];
  return { next: unlockedTdi(tdi.fn), effects, events };
}
