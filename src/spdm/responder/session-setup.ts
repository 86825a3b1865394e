/**
 * What KEY_EXCHANGE and PSK_EXCHANGE share on the responder side: the DSP0277 version
 * negotiation carried in their opaque data (libspdm_process_opaque_data_supported_version_data),
 * RspSessionID allocation as libspdm does it (0xFFFF, 0xFFFE, ... by free slot, so runs are
 * replayable) and the new session.
 */

import { scheduleParams } from '../../crypto/key-schedule.ts';
import { isWireError } from '../../wire/errors.ts';
import { sessionIdOf } from '../../wire/spdm/key-exchange.ts';
import {
  buildVersionSelectionOpaque,
  decodeOpaqueData,
  findSecuredMessageData,
} from '../../wire/spdm/opaque.ts';
import { type HandshakeSession, openSession, type SessionKind } from '../session.ts';
import type { ResponderContext } from './context.ts';

/**
 * The DSP0277 version to select from the requester's supported-versions opaque data, or
 * undefined when the data is malformed, missing, or shares no version with ours.
 */
export function selectSecuredVersion(
  ctx: ResponderContext,
  opaque: Uint8Array,
): number | undefined {
  try {
    const sm = findSecuredMessageData(decodeOpaqueData(opaque, ctx.negotiated().version));
    if (sm?.kind !== 'supported-versions') return undefined;
    return ctx.config.securedMessageVersions.find((v) => sm.versions.includes(v));
  } catch (e) {
    if (isWireError(e)) return undefined;
    throw e;
  }
}

/** The opaque data of KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP naming the selected version. */
export function versionSelectionOpaque(ctx: ResponderContext, selected: number): Uint8Array {
  return buildVersionSelectionOpaque(selected, ctx.negotiated().version);
}

/**
 * A free RspSessionID (libspdm_allocate_rsp_session_id: 0xFFFF minus the first free slot
 * index), or undefined when all `maxSessions` are in use.
 */
export function allocateRspSessionId(
  ctx: ResponderContext,
  reqSessionId: number,
): number | undefined {
  const used = new Set([...ctx.sessions.keys()].map((id) => id >>> 16));
  for (let i = 0; i < ctx.config.maxSessions; i++) {
    const rsp = 0xffff - i;
    if (used.has(rsp)) continue;
    if (ctx.sessions.has(sessionIdOf({ reqSessionId }, { rspSessionId: rsp }))) continue;
    return rsp;
  }
  return undefined;
}

/** A fresh responder-side session with the negotiated AEAD and key schedule. */
export function newSession(ctx: ResponderContext, id: number, kind: SessionKind): HandshakeSession {
  const n = ctx.negotiated();
  const suite = n.algorithms.suite;
  if (!suite.aead) throw new RangeError('responder: no AEAD negotiated');
  return openSession({
    id,
    kind,
    binding: ctx.binding,
    role: 'responder',
    schedule: scheduleParams(suite, n.version),
    aead: suite.aead,
  });
}
