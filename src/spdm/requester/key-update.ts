/**
 * KEY_UPDATE / KEY_UPDATE_ACK from the requester's side (DSP0274 1.3 section 10.21; libspdm
 * libspdm_req_key_update.c). UpdateKey: the request-direction key changes once the ACK is
 * in. UpdateAllKeys: the response-direction key changes before the request is sent (the
 * ACK comes under the new key; the old one stays as a backup until the ACK opens) and the
 * request-direction key after the ACK. Either is followed by VerifyNewKey under the new
 * request key. Each ACK must echo the operation and the tag.
 */
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_KEY_UPDATE,
  SPDM_KEY_UPDATE_ACK,
  SPDM_KEY_UPDATE_OP,
} from '../../wire/spdm/constants.ts';
import type { KeyUpdateAck } from '../../wire/spdm/key-update.ts';
import {
  commitKeyUpdate,
  hasPendingUpdate,
  rollbackKeyUpdate,
  type SessionDirection,
  updateKey,
} from '../session.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { sessionExchange } from './exchange.ts';

export type KeyUpdateOperation = 'update-key' | 'update-all-keys';

async function send(core: RequesterCore, s: RequesterSession, op: number): Promise<void> {
  const n = core.negotiated();
  const tag = core.config.random(1)[0];
  const request = encodeSpdm({ version: n.version, code: SPDM_KEY_UPDATE, keyOperation: op, tag });
  const { value } = await sessionExchange<KeyUpdateAck>(core, s, request, SPDM_KEY_UPDATE_ACK);
  const ok = value.keyOperation === op && value.tag === tag;
  core.verified('response', ok, s.id);
  if (!ok) {
    throw new SpdmVerifyError(
      'response',
      `KEY_UPDATE_ACK echoes operation ${value.keyOperation} tag ${value.tag}, sent ${op} tag ${tag}`,
    );
  }
}

function updated(
  core: RequesterCore,
  s: RequesterSession,
  operation: number,
  directions: SessionDirection[],
  action: 'updated' | 'verified' | 'rolled-back',
): void {
  core.emit({
    type: 'key-update',
    role: 'requester',
    connectionId: core.config.connectionId,
    sessionId: s.id,
    operation,
    directions,
    action,
  });
}

/**
 * Runs KEY_UPDATE (UpdateKey or UpdateAllKeys) then VerifyNewKey in `s`.
 * @throws SpdmUsageError without KEY_UPD_CAP on both sides or outside an established
 *   session; SpdmVerifyError 'response' when an ACK does not echo the request; whatever
 *   `exchange` throws (a response key update is rolled back when its ACK fails).
 */
export async function keyUpdate(
  core: RequesterCore,
  s: RequesterSession,
  operation: KeyUpdateOperation = 'update-key',
): Promise<void> {
  // -- check state
  const n = core.negotiated();
  if ((n.peer.flags & n.localFlags & SPDM_CAP.KEY_UPD_CAP) === 0) {
    throw new SpdmUsageError('KEY_UPD_CAP is not set on both sides');
  }
  s.requireEstablished();
  const all = operation === 'update-all-keys';
  const op = all ? SPDM_KEY_UPDATE_OP.UpdateAllKeys : SPDM_KEY_UPDATE_OP.UpdateKey;

  // -- update the key, exchange, commit (or roll back)
  if (all) s.secured = updateKey(s.secured, 'response', true);
  try {
    await send(core, s, op);
  } catch (e) {
    if (all && hasPendingUpdate(s.secured, 'response')) {
      s.secured = rollbackKeyUpdate(s.secured, 'response');
      updated(core, s, op, ['response'], 'rolled-back');
    }
    throw e;
  }
  if (all) s.secured = commitKeyUpdate(s.secured, 'response');
  // The responder switched its receive key on sending the ACK: ours follows, no backup.
  s.secured = updateKey(s.secured, 'request', false);
  updated(core, s, op, all ? ['request', 'response'] : ['request'], 'updated');

  // -- VerifyNewKey under the new request key
  await send(core, s, SPDM_KEY_UPDATE_OP.VerifyNewKey);
  updated(core, s, SPDM_KEY_UPDATE_OP.VerifyNewKey, ['request'], 'verified');
}
