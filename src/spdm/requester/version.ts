/**
 * GET_VERSION / VERSION from the requester's side (DSP0274 1.3 section 10.3; libspdm
 * libspdm_req_get_version.c). GET_VERSION starts the connection over: transcripts, sessions
 * and everything learnt about the peer are dropped before it is sent. The highest version
 * both sides list is chosen.
 */
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_GET_VERSION, SPDM_VERSION, SPDM_VERSION_10 } from '../../wire/spdm/constants.ts';
import { formatVersionByte, type Version, versionEntryToByte } from '../../wire/spdm/version.ts';
import { commonVersion } from '../config.ts';
import { appendA, resetAll } from '../transcript.ts';
import type { RequesterContext } from './context.ts';
import { SpdmVerifyError } from './errors.ts';
import type { Outgoing, Received } from './exchange.ts';

export interface VersionResult {
  /** The SPDMVersion byte chosen (e.g. 0x13). */
  version: number;
  /** Every version the responder listed, as SPDMVersion bytes. */
  peerVersions: number[];
}

/** Starts the connection over and builds GET_VERSION. */
export function startGetVersion(ctx: RequesterContext): Outgoing {
  // -- reset: a new VCA ends every session and forgets the peer (libspdm_reset_context)
  for (const id of [...ctx.data.sessions.keys()]) ctx.dropSession(id, 'version-restart');
  resetAll(ctx.transcript);
  ctx.data.chains.clear();
  ctx.data.digests.clear();
  ctx.data.measurements = undefined;
  ctx.data.pendingSummaries.length = 0;
  ctx.setState({ state: 'NOT_STARTED' });

  // -- request
  return {
    request: encodeSpdm({ version: SPDM_VERSION_10, code: SPDM_GET_VERSION }),
    expect: { code: SPDM_VERSION, version: SPDM_VERSION_10, codec: {} },
  };
}

/**
 * Picks the version from VERSION.
 * @throws SpdmVerifyError 'version' when no version is common.
 */
export function absorbVersion(
  ctx: RequesterContext,
  request: Uint8Array,
  { value, bytes }: Received<Version>,
): VersionResult {
  // -- verify
  const peerVersions = value.entries.map(versionEntryToByte);
  const version = commonVersion(ctx.config.versions, peerVersions);
  if (version === 0) {
    ctx.verified('version', false);
    throw new SpdmVerifyError(
      'version',
      `no common SPDM version: responder lists ${peerVersions.map(formatVersionByte).join(', ') || 'none'}, requester ${ctx.config.versions.map(formatVersionByte).join(', ')}`,
    );
  }
  ctx.verified('version', true);

  // -- update
  appendA(ctx.transcript, request);
  appendA(ctx.transcript, bytes);
  ctx.setState({ state: 'AFTER_VERSION', version, peerVersions });
  return { version, peerVersions };
}
