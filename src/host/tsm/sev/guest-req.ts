/**
 * pci_tsm_guest_req of the SEV host driver (sev-dev-tsm.c guest_request): the guest's
 * TIO_MSG_* arrives sealed with its VMPCK (SVM_VMGEXIT_SEV_TIO_GUEST_REQUEST), the VMM
 * hands it to the driver, and the driver carries it to the PSP with TIO_GUEST_REQUEST for
 * the TDI's device and the VM's guest context, lending the DSM's DOE mailbox (the PSP may
 * talk to the device: TDI_INFO reads the TDI's state; the first MMIO_VALIDATE or
 * SDTE_WRITE of a CONFIG_LOCKED TDI takes it to RUN). The answer is the guest's sealed
 * reply: its own status (MMIO_VALIDATE_*, SDTE_WRITE_*, TDI_INFO_*) and fields.
 *
 * The message as the VMM relays it, one flat record (GuestRequest.message):
 * - `type`: TIO_MSG_TDI_INFO_REQ (scope 'info'), TIO_MSG_MMIO_VALIDATE_REQ or
 *   TIO_MSG_SDTE_WRITE_REQ (scope 'state-change');
 * - `gctx`: the sender's guest context: which context's VMPCK the PSP opens the message
 *   under (the host knows it, but not the key);
 * - `seq`, `tag`: the seal (platform/sev/guest-seal.ts), the message's sequence number and
 *   its tag under the guest's VMPCK. The host passes them on as it got them; a message it
 *   made or changed does not open (SEV_RET_BAD_SIGNATURE), nor one it replays;
 * - `guestDeviceId`: the guest's BDF of the TDI;
 * - TDI_INFO: nonce (hex, optional), the guest's, bound to the evidence in the reply;
 * - MMIO_VALIDATE: subrangeBase (bigint), subrangePageCount, rangeOffset, rangeId,
 *   validated, forceValidated (optional);
 * - SDTE_WRITE: v, ir, iw, vmpl, vtomEn, vtom.
 * A message in the wrong scope or with a field of the wrong type is -EINVAL, an unknown
 * type -EOPNOTSUPP.
 */
import type { AbiArg } from '../../../platform/abi.ts';
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { GuestMessage, SealedReply } from '../../../platform/sev/host-abi.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import type { GuestRequest } from '../driver.ts';
import { doneRun, hex, psp, pspFailed, pspRun, refuseRun, withMessage } from './firmware.ts';
import { sevRecords } from './records.ts';

/**
 * The guest's reply as the PSP returns it in the response buffer, sealed for the guest:
 * the message's own status (e.g. MMIO_VALIDATE_SUCCESS) and fields, and the seal.
 */
export type SevGuestReply = SealedReply;

const SCOPE: Readonly<Record<GuestMessage['type'], GuestRequest['scope']>> = {
  TIO_MSG_TDI_INFO_REQ: 'info',
  TIO_MSG_MMIO_VALIDATE_REQ: 'state-change',
  TIO_MSG_SDTE_WRITE_REQ: 'state-change',
};

type Kind = 'number' | 'bigint' | 'boolean';

/** The fields of `msg` as `want` types them, or the first that is not. */
function fields<T extends Record<string, Kind>>(
  msg: Record<string, AbiArg>,
  want: T,
  optional: readonly (keyof T)[] = [],
):
  | { [K in keyof T]: T[K] extends 'number' ? number : T[K] extends 'bigint' ? bigint : boolean }
  | string {
  const out: Record<string, AbiArg> = {};
  for (const [k, kind] of Object.entries(want)) {
    const v = msg[k];
    if (v === undefined && optional.includes(k)) continue;
    if (typeof v !== kind) return `${k} is not a ${kind}`;
    out[k] = v;
  }
  return out as never;
}

/** The flat message as the PSP's TIO_MSG_* request, or why it is malformed. */
function decode(msg: Record<string, AbiArg>, type: GuestMessage['type']): GuestMessage | string {
  const head = fields(msg, { gctx: 'number', guestDeviceId: 'number' });
  if (typeof head === 'string') return head;
  switch (type) {
    case 'TIO_MSG_TDI_INFO_REQ': {
      // The guest's nonce (hex), bound to the evidence in the reply.
      if (msg.nonce !== undefined && typeof msg.nonce !== 'string') return 'nonce is not hex';
      return { type, args: msg.nonce === undefined ? head : { ...head, nonce: msg.nonce } };
    }
    case 'TIO_MSG_SDTE_WRITE_REQ': {
      const s = fields(msg, {
        v: 'boolean',
        ir: 'boolean',
        iw: 'boolean',
        vmpl: 'number',
        vtomEn: 'boolean',
        vtom: 'number',
      });
      return typeof s === 'string' ? s : { type, args: { ...head, sdte: s } };
    }
    case 'TIO_MSG_MMIO_VALIDATE_REQ': {
      const v = fields(
        msg,
        {
          subrangeBase: 'bigint',
          subrangePageCount: 'number',
          rangeOffset: 'number',
          rangeId: 'number',
          validated: 'boolean',
          forceValidated: 'boolean',
        },
        ['forceValidated'],
      );
      return typeof v === 'string' ? v : { type, args: { ...head, ...v } };
    }
  }
}

export async function sevGuestRequest(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; request: GuestRequest },
): Promise<HostOutcome<unknown>> {
  const run = pspRun(m);
  const t = sevRecords(h).tdis.get(a.rid);
  if (t?.phase !== 'bound') return refuseRun(run, 'ENXIO', `${hex(a.rid)} is not bound`);
  if (t.vm !== a.vm) return refuseRun(run, 'EPERM', `${hex(a.rid)} is bound to ${t.vm}`);
  const type = String(a.request.message.type) as GuestMessage['type'];
  const scope = SCOPE[type];
  if (!scope) return refuseRun(run, 'EOPNOTSUPP', `no SEV-TIO guest message ${type}`);
  if (scope !== a.request.scope) {
    return refuseRun(run, 'EINVAL', `${type} is a ${scope} request, not ${a.request.scope}`);
  }
  const message = decode(a.request.message, type);
  if (typeof message === 'string') return refuseRun(run, 'EINVAL', `${type}: ${message}`);
  const { seq, tag } = a.request.message;
  const seal = { seq: typeof seq === 'number' ? seq : -1, tag: typeof tag === 'string' ? tag : '' };
  const r = await psp<SevGuestReply>(
    run,
    'TIO_GUEST_REQUEST',
    withMessage({ dev: t.dev, tdi: t.tdi, gctx: t.gctx, message, seal }),
    t.dev,
  );
  if (!r.ok || !r.value) return pspFailed(run, r);
  const { ok, status, value, detail } = r.value;
  return doneRun<SevGuestReply>(run, { ok, status, value, detail, seal: r.value.seal });
}
