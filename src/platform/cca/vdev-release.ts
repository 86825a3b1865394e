/**
 * What RMI_VDEV_DESTROY leaves (RMM specification 1.1, A9.4.3): nothing of the VDEV's TDI,
 * through the core's release (no secure mapping, no DMA context, no nonce, no report, no
 * binding), then no TDI record. A VDEV in VDEV_ERROR may be destroyed whatever its TDI last
 * answered: the RMM no longer trusts that answer, so the TDI counts as ERROR, which TDISP
 * leaves only through STOP (the next VDEV of the TDI stops it in its VDEV_NEW transaction).
 */

import { tsmTdiRelease } from '../tsm/release.ts';
import type { TsmResult } from '../tsm/result.ts';
import { tsmTdiDestroy } from '../tsm/tdi.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import type { Vdev } from './state.ts';

export function vdevRelease(p: CcaPlatform, v: Vdev): TsmResult {
  const t = p.tsm.tdis.get(v.tdiId);
  if (t && v.state === 'VDEV_ERROR' && (t.state === 'CONFIG_LOCKED' || t.state === 'RUN')) {
    t.state = 'ERROR';
  }
  const r = tsmTdiRelease(p, v.tdiId);
  return r.ok ? tsmTdiDestroy(p, v.tdiId) : r;
}
