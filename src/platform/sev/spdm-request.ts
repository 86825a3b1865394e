/**
 * How the PSP reaches the device (drivers/crypto/ccp/sev-dev-tsm.c sev_tio_spdm_cmd,
 * sev-dev-tio.c sev_tio_do_cmd / sev_tio_continue): the PSP has no DOE mailbox, so an
 * SPDM-aware TIO command (TIO_DEV_CONNECT, TIO_TDI_BIND, TIO_TDI_UNBIND, TIO_TDI_STATUS,
 * TIO_GUEST_REQUEST, ...) returns SEV_RET_SPDM_REQUEST with an SPDM request in the host's
 * request buffer (data type SPDM or SECURE_SPDM); the host sends it through the device's
 * DOE mailbox (pci_doe, CMA or SSESSION feature), writes the response to the response
 * buffer and re-issues the command, until it completes.
 *
 * Model: the command runs to completion in one call and uses the host's `carrier` (the
 * DOE transport the host lends) for each of those round trips; each round trip is one
 * SEV_RET_SPDM_REQUEST event in the trace, so a reader sees the loop the host drives.
 */

import type { RequesterTransport, TransportMessage } from '../../wire/transport.ts';
import type { AbiEvent } from '../abi.ts';
import { linkHasSession, type TsmEnv } from '../tsm/link.ts';
import type { TsmState } from '../tsm/state.ts';

export const SEV_FLAVOUR = 'sev';

/** The carrier as the SPDM_REQUEST loop, recording one event per round trip. */
export function spdmRequestLoop(
  call: string,
  carrier: RequesterTransport,
): { carrier: RequesterTransport; events: AbiEvent[] } {
  const events: AbiEvent[] = [];
  const loop: RequesterTransport = {
    binding: carrier.binding,
    exchange(m: TransportMessage, timeoutMs?: number): Promise<TransportMessage> {
      events.push({
        kind: 'abi',
        domain: 'host',
        flavour: SEV_FLAVOUR,
        call,
        args: {
          round: events.length + 1,
          dataType: m.secured ? 'DOBJ_DATA_TYPE_SECURE_SPDM' : 'DOBJ_DATA_TYPE_SPDM',
          requestBytes: m.bytes.length,
        },
        status: 'SEV_RET_SPDM_REQUEST',
        ok: true,
        detail: 'the host carried the request through the DOE mailbox and re-issued the command',
      });
      return carrier.exchange(m, timeoutMs);
    },
    close: () => carrier.close(),
  };
  return { carrier: loop, events };
}

/** A carrier that carries nothing: a forced command sends no SPDM traffic. */
export function silentCarrier(binding: RequesterTransport['binding']): RequesterTransport {
  return {
    binding,
    exchange: () =>
      Promise.reject(
        Object.assign(new Error('forced: no SPDM traffic'), { name: 'TransportError' }),
      ),
    close: async () => undefined,
  };
}

/**
 * Whether the device is connected but its SPDM session is gone: the requester drops a
 * session whose secured messages failed, and no IDE_KM or TDISP request can go after that.
 */
export function sessionLost(p: { tsm: TsmState }, _env: TsmEnv, dev: number): boolean {
  const d = p.tsm.devices.get(dev);
  if (d?.phase !== 'connected' || !d.link) return false;
  const id = d.link.sessionId;
  return !linkHasSession(p, dev, id);
}
