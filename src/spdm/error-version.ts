/**
 * The SPDMVersion an ERROR carries (DSP0274 1.3 section 10.2 "GET_VERSION request and
 * VERSION response", section 10.4 and "SPDM messaging protocol": the version of every
 * message after VERSION is the negotiated one; GET_VERSION / VERSION are always 1.0).
 * libspdm_generate_error_response agrees: the connection's version, 1.0 before one is
 * known; GET_CAPABILITIES fixes it to the request's version as soon as that version is one
 * the responder speaks, so its own refusals (bad flags, bad sizes) already carry it.
 *
 * The responder stamps its ERRORs with this; the requester checks the ERRORs it receives
 * against it.
 */
import {
  SPDM_GET_CAPABILITIES,
  SPDM_GET_VERSION,
  SPDM_VERSION_10,
} from '../wire/spdm/constants.ts';

export interface ErrorVersionInput {
  /** RequestResponseCode of the request the ERROR answers. */
  requestCode: number;
  /** The request's SPDMVersion byte. */
  requestVersion: number;
  /** The version GET_CAPABILITIES fixed for the connection, if it has. */
  connectionVersion: number | undefined;
  /**
   * GET_CAPABILITIES came right after VERSION at a version the responder speaks: from
   * then on its ERRORs carry that version.
   */
  capabilitiesVersionAccepted: boolean;
}

/** The SPDMVersion byte of an ERROR answering the request described by `i`. */
export function errorVersion(i: ErrorVersionInput): number {
  // An ERROR to GET_VERSION is a 1.0 message whatever was negotiated before: GET_VERSION
  // starts the connection over, so no earlier version binds the requester any more.
  if (i.requestCode === SPDM_GET_VERSION) return SPDM_VERSION_10;
  if (i.connectionVersion !== undefined) return i.connectionVersion;
  if (i.requestCode === SPDM_GET_CAPABILITIES && i.capabilitiesVersionAccepted) {
    return i.requestVersion;
  }
  return SPDM_VERSION_10;
}
