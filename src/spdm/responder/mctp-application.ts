/**
 * MCTP application messages inside a secured SPDM session (DSP0275: the secured message's
 * application data is an MCTP message type byte and a body; DSP0236 8.2 message types).
 * A table from MCTP message type to the application that answers it: PLDM (0x01, DSP0241)
 * goes to the PLDM terminus when the configuration has one. A type no one serves gets no
 * answer (MCTP has no error reply for an unknown message type) and is traced as a
 * 'record-rejected' with reason 'unsupported-application'; every served message is traced
 * as 'application' events in and out.
 */
import { MCTP_MESSAGE_TYPE_PLDM } from '../../wire/mctp.ts';
import type { ResponderConfig } from '../config.ts';
import { pldmTerminusRespond } from './pldm-terminus.ts';

/** What an application does with one message. */
export interface ApplicationOutcome {
  /** 'PLDM GetTID', ... for the trace. */
  name: string;
  /** The response body (without the MCTP type byte), or undefined when none is sent. */
  response?: Uint8Array;
  /** Why nothing is sent. */
  dropped?: string;
}

/** One application's answer to one message (never throws on peer bytes). */
type ApplicationHandler = (body: Uint8Array) => ApplicationOutcome;

/** The applications served under `config`, by MCTP message type. */
const APPLICATIONS: Readonly<
  Record<number, (config: ResponderConfig) => ApplicationHandler | undefined>
> = {
  [MCTP_MESSAGE_TYPE_PLDM]: (config) => {
    const pldm = config.pldm;
    return pldm ? (body) => pldmTerminusRespond(pldm, body) : undefined;
  },
};

/** The handler for an MCTP message type, or undefined when nothing here serves it. */
export function mctpApplication(
  config: ResponderConfig,
  mctpType: number,
): ApplicationHandler | undefined {
  return APPLICATIONS[mctpType]?.(config);
}
