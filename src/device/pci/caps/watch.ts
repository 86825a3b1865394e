/**
 * Shared write path of the capabilities whose only TDISP relevance is "the host changed
 * a control register" (ATS, PRI, PASID, ARI, TPH, LNR, PCIe 11.2 ERROR triggers): apply the
 * write through the masks and emit CAPABILITY_CHANGE when a watched register's value
 * changed. Writing the value a register already holds is harmless and emits nothing.
 */
import type { ConfigSecurityEvent } from '../../events.ts';
import { maskedWrite, rd } from '../config-space.ts';
import type { FnContext } from '../state.ts';

type Capability = Extract<ConfigSecurityEvent, { kind: 'CAPABILITY_CHANGE' }>['capability'];

export function writeAndWatch(
  ctx: FnContext,
  off: number,
  size: number,
  value: number,
  capability: Capability,
  watched: Array<[offset: number, size: number]>,
): void {
  const bytes = ctx.fs.cs.bytes;
  const before = watched.map(([o, s]) => rd(bytes, o, s));
  maskedWrite(ctx.fs.cs, off, size, value);
  if (watched.some(([o, s], i) => rd(bytes, o, s) !== before[i])) {
    ctx.dev.emit(ctx.fs.fn, { kind: 'CAPABILITY_CHANGE', capability });
  }
}
