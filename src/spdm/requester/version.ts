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
import type { RequesterCore } from './context.ts';
import { SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';

export interface VersionResult {
  /** The SPDMVersion byte chosen (e.g. 0x13). */
  version: number;
  /** Every version the responder listed, as SPDMVersion bytes. */
  peerVersions: number[];
}

/**
 * Runs GET_VERSION and picks the version.
 * @throws SpdmVerifyError 'version' when no version is common (or VERSION is not 1.0);
 *   whatever `exchange` throws.
 */
export async function getVersion(core: RequesterCore): Promise<VersionResult> {
  // -- reset: a new VCA ends every session and forgets the peer (libspdm_reset_context)
  for (const s of [...core.sessions.values()]) core.dropSession(s, 'version-restart');
  resetAll(core.transcript);
  core.chains.clear();
  core.digests.clear();
  core.measurements = undefined;
  core.pendingSummaries.length = 0;
  core.setState({ state: 'NOT_STARTED' });

  // -- request / response
  const request = encodeSpdm({ version: SPDM_VERSION_10, code: SPDM_GET_VERSION });
  const { value, bytes } = await exchange<Version>(core, request, {
    code: SPDM_VERSION,
    version: SPDM_VERSION_10,
    codec: {},
  });

  // -- verify
  const peerVersions = value.entries.map(versionEntryToByte);
  const version = commonVersion(core.config.versions, peerVersions);
  if (version === 0) {
    core.verified('version', false);
    throw new SpdmVerifyError(
      'version',
      `no common SPDM version: responder lists ${peerVersions.map(formatVersionByte).join(', ') || 'none'}, requester ${core.config.versions.map(formatVersionByte).join(', ')}`,
    );
  }
  core.verified('version', true);

  // -- update
  appendA(core.transcript, request);
  appendA(core.transcript, bytes);
  core.setState({ state: 'AFTER_VERSION', version, peerVersions });
  return { version, peerVersions };
}
