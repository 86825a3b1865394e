/**
 * A TD's TDISP request relayed by the host (pci_tsm_guest_req for TDX Connect): the TD has
 * already asked with TDG.DEVIF.REQUEST; the host generates that request for it
 * (TDH.DEVIF.REQUEST with the TD flag: the module, not the host, picks the request the TD
 * recorded) and carries the exchange over the DSM's mailbox (TDH.DEVIF.RESPONSE). The TD
 * reads the answer itself with TDG.DEVIF.RESPONSE; the host learns only which request it
 * carried and the module's status.
 *
 * The VMM names the request in the message (`name`, a TDISP request name) so the driver can
 * check the scope: reading the report or the state is 'info', START is 'state-change'. A name
 * in the wrong scope is -EINVAL; anything else, the debug scopes included, -EOPNOTSUPP.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import type { GuestRequest } from '../driver.ts';
import { devifOf, isRefusal } from './devif.ts';
import { doneRun, refuseRun, seamcall, seamFailed, seamRun } from './firmware.ts';

/** The TD's requests by the scope a relay of each needs. */
export const TDX_GUEST_REQUEST_SCOPE: Readonly<Record<string, GuestRequest['scope']>> = {
  GET_DEVICE_INTERFACE_REPORT: 'info',
  GET_DEVICE_INTERFACE_STATE: 'info',
  START_INTERFACE_REQUEST: 'state-change',
};

export async function tdxGuestRequest(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; request: GuestRequest },
): Promise<HostOutcome<unknown>> {
  const run = seamRun(m);
  if (a.request.scope === 'debug-read' || a.request.scope === 'debug-write') {
    return refuseRun(run, 'EOPNOTSUPP', 'TDX Connect has no debug requests');
  }
  const name = String(a.request.message.name);
  const scope = Object.hasOwn(TDX_GUEST_REQUEST_SCOPE, name)
    ? TDX_GUEST_REQUEST_SCOPE[name]
    : undefined;
  if (scope === undefined) return refuseRun(run, 'EOPNOTSUPP', `no TD request '${name}'`);
  if (scope !== a.request.scope) {
    return refuseRun(run, 'EINVAL', `${name} is a '${scope}' request, not '${a.request.scope}'`);
  }
  const d = devifOf(h, run, a.rid);
  if (isRefusal(d)) return d;
  const g = await seamcall<{ request: string }>(run, 'TDH.DEVIF.REQUEST', {
    functionId: d.functionId,
    td: true,
  });
  if (!g.ok) return seamFailed(run, g);
  const r = await seamcall<{ request: string }>(
    run,
    'TDH.DEVIF.RESPONSE',
    { functionId: d.functionId },
    d.dsm,
  );
  if (!r.ok) return seamFailed(run, r);
  return doneRun(run, { request: r.value?.request });
}
