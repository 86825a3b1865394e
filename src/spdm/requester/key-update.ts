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
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { type Received, sessionRequest } from './exchange.ts';
import type { FlowStep } from './flow.ts';

export type KeyUpdateOperation = 'update-key' | 'update-all-keys';

/** Which KEY_UPDATE is in flight: the update itself, then VerifyNewKey. */
export interface KeyUpdateProgress {
  stage: 'update' | 'verify';
  /** KeyOperation and Tag as sent: the ACK must echo both. */
  op: number;
  tag: number;
}

type Step = FlowStep<KeyUpdateProgress, undefined>;

function send(
  ctx: RequesterContext,
  sessionId: number,
  stage: KeyUpdateProgress['stage'],
  op: number,
): Step {
  const n = ctx.negotiated();
  const tag = ctx.random(1)[0];
  const request = encodeSpdm({ version: n.version, code: SPDM_KEY_UPDATE, keyOperation: op, tag });
  return {
    send: sessionRequest(ctx, sessionId, request, SPDM_KEY_UPDATE_ACK),
    progress: { stage, op, tag },
  };
}

function updated(
  ctx: RequesterContext,
  sessionId: number,
  operation: number,
  directions: SessionDirection[],
  action: 'updated' | 'verified' | 'rolled-back',
): void {
  ctx.emit({
    type: 'key-update',
    role: 'requester',
    connectionId: ctx.config.connectionId,
    sessionId,
    operation,
    directions,
    action,
  });
}

/**
 * Builds KEY_UPDATE (UpdateKey or UpdateAllKeys) in `sessionId`; for UpdateAllKeys the
 * response-direction key changes now, with the old one kept as a backup.
 * @throws SpdmUsageError without KEY_UPD_CAP on both sides or outside an established
 *   session.
 */
export function startKeyUpdate(
  ctx: RequesterContext,
  sessionId: number,
  operation: KeyUpdateOperation,
): Step {
  // -- check state
  const n = ctx.negotiated();
  if ((n.peer.flags & n.localFlags & SPDM_CAP.KEY_UPD_CAP) === 0) {
    throw new SpdmUsageError('KEY_UPD_CAP is not set on both sides');
  }
  const s = ctx.established(sessionId);
  const all = operation === 'update-all-keys';

  // -- update the response key first (its ACK comes under the new key), then the request
  if (all) s.secured = updateKey(s.secured, 'response', true);
  return send(
    ctx,
    sessionId,
    'update',
    all ? SPDM_KEY_UPDATE_OP.UpdateAllKeys : SPDM_KEY_UPDATE_OP.UpdateKey,
  );
}

/**
 * Takes a KEY_UPDATE_ACK: after the update, the keys switch and VerifyNewKey follows;
 * after VerifyNewKey, the call is done.
 * @throws SpdmVerifyError 'response' when the ACK does not echo the request.
 */
export function absorbKeyUpdateAck(
  ctx: RequesterContext,
  sessionId: number,
  p: KeyUpdateProgress,
  { value }: Received<KeyUpdateAck>,
): Step {
  // -- verify
  const ok = value.keyOperation === p.op && value.tag === p.tag;
  ctx.verified('response', ok, sessionId);
  if (!ok) {
    throw new SpdmVerifyError(
      'response',
      `KEY_UPDATE_ACK echoes operation ${value.keyOperation} tag ${value.tag}, sent ${p.op} tag ${p.tag}`,
    );
  }
  if (p.stage === 'verify') {
    updated(ctx, sessionId, SPDM_KEY_UPDATE_OP.VerifyNewKey, ['request'], 'verified');
    return { result: undefined };
  }

  // -- update: commit, and the request key follows the responder's (no backup)
  const s = ctx.session(sessionId);
  const all = p.op === SPDM_KEY_UPDATE_OP.UpdateAllKeys;
  if (all) s.secured = commitKeyUpdate(s.secured, 'response');
  s.secured = updateKey(s.secured, 'request', false);
  updated(ctx, sessionId, p.op, all ? ['request', 'response'] : ['request'], 'updated');

  // -- VerifyNewKey under the new request key
  return send(ctx, sessionId, 'verify', SPDM_KEY_UPDATE_OP.VerifyNewKey);
}

/** An UpdateAllKeys whose ACK failed: the response key goes back to the old one. */
export function abortKeyUpdate(
  ctx: RequesterContext,
  sessionId: number,
  p: KeyUpdateProgress,
): void {
  const s = ctx.data.sessions.get(sessionId);
  if (!s || p.stage !== 'update' || p.op !== SPDM_KEY_UPDATE_OP.UpdateAllKeys) return;
  if (!hasPendingUpdate(s.secured, 'response')) return;
  s.secured = rollbackKeyUpdate(s.secured, 'response');
  updated(ctx, sessionId, p.op, ['response'], 'rolled-back');
}
