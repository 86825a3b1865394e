/**
 * The confidential guest's operations: its devsec TSM (lock, accept, unlock), the attester,
 * and the NIC driver that uses the device once it runs.
 */
import { collectEvidence, verifyCollected } from '../../guest/attester.ts';
import { driverBind, driverUnbind, nicRead, nicWrite } from '../../guest/driver/nic.ts';
import { tsmAccept, tsmLock, tsmUnlock } from '../../guest/tsm/core.ts';
import { roleRefusal } from '../../guest/vfio/role.ts';
import type { StepEvent } from '../invariants.ts';
import {
  ATTEST_AT,
  arg,
  fromGuest,
  guestOf,
  observed,
  refused,
  type StepResult,
} from './result.ts';
import type { OpTable } from './types.ts';

export const GUEST_OPS: OpTable = {
  'guest.tsm/lock': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      return 'error' in x ? (x.error as StepResult) : fromGuest(await tsmLock(x.gm, x.g, x.vdevId));
    },
  },
  'guest.attest': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      if ('error' in x) return x.error as StepResult;
      const dev = x.g.devices.get(x.vdevId);
      const role = dev && roleRefusal(dev, 'kernel-tsm');
      if (role) return refused(role.errno, role.detail);
      const c = await collectEvidence(x.gm, x.g, x.vdevId);
      if (!c.ok) return fromGuest(c);
      const v = verifyCollected(x.g, x.vdevId, w.policy, c.value, ATTEST_AT);
      const r = fromGuest(v);
      return { ...r, events: [...(c.events as StepEvent[]), ...r.events] };
    },
  },
  'guest.tsm/accept': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      return 'error' in x
        ? (x.error as StepResult)
        : fromGuest(await tsmAccept(x.gm, x.g, x.vdevId, '1'));
    },
  },
  'guest.tsm/unlock': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      return 'error' in x
        ? (x.error as StepResult)
        : fromGuest(await tsmUnlock(x.gm, x.g, x.vdevId));
    },
  },
  'guest.driver/bind': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      return 'error' in x ? (x.error as StepResult) : fromGuest(driverBind(x.g, x.vdevId));
    },
  },
  'guest.driver/unbind': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      return 'error' in x ? (x.error as StepResult) : fromGuest(driverUnbind(x.g, x.vdevId));
    },
  },
  'guest.mmio-write': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      if ('error' in x) return x.error as StepResult;
      const value = arg(step, 'value', 0xcafef00d) >>> 0;
      const data = new Uint8Array(4);
      new DataView(data.buffer).setUint32(0, value, true);
      const o = nicWrite(x.gm, x.g, x.vdevId, arg(step, 'bar', 0), arg(step, 'offset', 0), data);
      return observed(o);
    },
  },
  'guest.mmio-read': {
    actor: 'guest',
    run: async (w, step) => {
      const x = guestOf(w, step);
      if ('error' in x) return x.error as StepResult;
      return observed(nicRead(x.gm, x.g, x.vdevId, arg(step, 'bar', 0), arg(step, 'offset', 0)));
    },
  },
};
