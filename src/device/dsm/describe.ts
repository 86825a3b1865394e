/** One-line descriptions of DSM events (PCIe 6.x ch. 11 and 6.33.3), for traces and logs. */
import type { DsmEvent } from './events.ts';
import type { SessionRef } from './tdi.ts';

/** Request/response events: the SPDM trace of the same exchange already names them. */
export function isDsmRequestEvent(e: DsmEvent): boolean {
  return (
    e.kind === 'TDISP_REQUEST' ||
    e.kind === 'IDE_KM_REQUEST' ||
    e.kind === 'CXL_IDE_KM_REQUEST' ||
    e.kind === 'CXL_TSP_REQUEST' ||
    e.kind === 'IGNORED'
  );
}

const session = (s: SessionRef | undefined) =>
  s ? ` [conn ${s.connectionId} session 0x${s.sessionId.toString(16)}]` : ' [no session]';

/**
 * One line per DSM event, or undefined for ERROR triggers that hit no LOCKED/RUN TDI
 * (they change nothing).
 */
export function describeDsmEvent(e: DsmEvent): string | undefined {
  switch (e.kind) {
    case 'TDISP_REQUEST':
      return `TDISP ${e.request}${e.fn === undefined ? '' : ` fn ${e.fn}`} -> ${e.result}${session(e.session)}`;
    case 'IDE_KM_REQUEST':
      return `IDE_KM ${e.object}${e.streamId === undefined ? '' : ` stream ${e.streamId}`}${e.slot ? ` ${e.slot}` : ''} -> ${e.result}${session(e.session)}`;
    case 'CXL_IDE_KM_REQUEST':
      return `CXL_IDE_KM ${e.object}${e.portIndex === undefined ? '' : ` port ${e.portIndex}`}${e.direction ? ` ${e.direction}` : ''} -> ${e.result}${session(e.session)}`;
    case 'CXL_IDE_STATE':
      return `CXL IDE port ${e.portIndex} ${e.direction}: ${e.state} (${e.cause})`;
    case 'CXL_TSP_REQUEST':
      return `CXL_TSP ${e.request} -> ${e.result}${session(e.session)}`;
    case 'CXL_TSP_STATE':
      return `CXL TSP target: ${e.from} -> ${e.to} (${e.cause})`;
    case 'IGNORED':
      return `${e.protocol} request ignored (${e.reason})`;
    case 'TDI_STATE':
      return `TDI fn ${e.fn}: ${e.from} -> ${e.to} (${e.cause})`;
    case 'IDE_STREAM_STATE':
      return `IDE stream ${e.streamId}: ${e.state} (${e.cause})`;
    case 'ERROR_TRIGGER':
      // Triggers that hit no LOCKED/RUN TDI change nothing; leave them out.
      return e.tdis.length
        ? `ERROR trigger ${e.event.kind} on fn ${e.fn} -> fn ${e.tdis.join(', ')} to ERROR`
        : undefined;
    case 'SCRUB':
      return `scrubbed fn ${e.fn}'s device memory`;
    case 'MSIX_LOCK':
      return `MSI-X of fn ${e.fn} ${e.locked ? 'locked' : 'unlocked'}`;
    case 'INTERNAL_ERROR':
      return `internal error (${e.protocol}): ${e.message}`;
  }
}
