/**
 * A minimal PLDM terminus (DMTF DSP0240, PLDM Base): the Messaging Control and Discovery
 * commands a requester uses to find out who it is talking to, answered inside a secured
 * SPDM session over MCTP (DSP0241 binding, message type 0x01), as spdm-emu's requester
 * does in its APP step with GetTID.
 *
 * Served: GetTID, GetPLDMTypes (type 0 only), GetPLDMCommands (for type 0; any version).
 * Refused with the base completion codes: another PLDM Type ERROR_INVALID_PLDM_TYPE,
 * another type 0 command ERROR_UNSUPPORTED_PLDM_CMD, request data of the wrong length
 * ERROR_INVALID_LENGTH. Not answered (DSP0240 gives them no response): responses,
 * unacknowledged requests (D=1), Hdr Ver other than 00b and messages shorter than a
 * header. The TID is configuration: SetTID is not served (it would make it state).
 */
import { isWireError } from '../../wire/errors.ts';
import {
  PLDM_BASE_CODE_ERROR_INVALID_LENGTH,
  PLDM_BASE_CODE_ERROR_INVALID_PLDM_TYPE,
  PLDM_BASE_CODE_ERROR_UNSUPPORTED_PLDM_CMD,
  PLDM_BASE_CODE_SUCCESS,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID,
  PLDM_HEADER_VERSION,
  PLDM_MESSAGE_TYPE_CONTROL_DISCOVERY,
  pldmCommandName,
} from '../../wire/pldm/constants.ts';
import {
  decodePldmControlRequest,
  encodePldmControlResponse,
  type PldmControlRequestData,
  type PldmControlResponseData,
} from '../../wire/pldm/control.ts';
import {
  decodePldmMessage,
  encodePldmMessage,
  type PldmMessage,
  pldmResponseTo,
} from '../../wire/pldm/message.ts';
import type { PldmTerminusConfig } from '../config.ts';
import type { ApplicationOutcome } from './mctp-application.ts';

/** The Control and Discovery commands served, ascending (what GetPLDMCommands reports). */
export const PLDM_TERMINUS_COMMANDS: readonly number[] = [
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES,
  PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS,
];

/** Answers one PLDM message. Never throws on peer bytes. */
export function pldmTerminusRespond(
  config: PldmTerminusConfig,
  bytes: Uint8Array,
): ApplicationOutcome {
  // validate: a header, a request that wants an answer, the header format we know
  let m: PldmMessage;
  try {
    m = decodePldmMessage(bytes);
  } catch (e) {
    if (!isWireError(e)) throw e;
    return { name: 'PLDM', dropped: `malformed: ${e.message}` };
  }
  const name = `PLDM ${pldmCommandName(m.pldmType, m.command)}`;
  if (!m.request) return { name, dropped: 'a response, not a request' };
  if (m.datagram) return { name, dropped: 'unacknowledged request (D=1)' };
  if (m.headerVersion !== PLDM_HEADER_VERSION) {
    return { name, dropped: `header version ${m.headerVersion} not supported` };
  }
  const answer = (completionCode: number, data?: PldmControlResponseData): ApplicationOutcome => ({
    name,
    response: encodePldmMessage(
      pldmResponseTo(m, completionCode, data ? encodePldmControlResponse(data) : undefined),
    ),
  });
  // check: a type and command this terminus serves
  if (m.pldmType !== PLDM_MESSAGE_TYPE_CONTROL_DISCOVERY) {
    return answer(PLDM_BASE_CODE_ERROR_INVALID_PLDM_TYPE);
  }
  if (!PLDM_TERMINUS_COMMANDS.includes(m.command)) {
    return answer(PLDM_BASE_CODE_ERROR_UNSUPPORTED_PLDM_CMD);
  }
  let req: PldmControlRequestData | undefined;
  try {
    req = decodePldmControlRequest(m.command, m.data);
  } catch (e) {
    if (!isWireError(e)) throw e;
    return answer(PLDM_BASE_CODE_ERROR_INVALID_LENGTH);
  }
  // process + respond
  switch (req?.command) {
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_TID:
      return answer(PLDM_BASE_CODE_SUCCESS, { command: req.command, tid: config.tid });
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_TYPES:
      return answer(PLDM_BASE_CODE_SUCCESS, {
        command: req.command,
        types: [PLDM_MESSAGE_TYPE_CONTROL_DISCOVERY],
      });
    case PLDM_CONTROL_DISCOVERY_COMMAND_GET_PLDM_COMMANDS:
      if (req.pldmType !== PLDM_MESSAGE_TYPE_CONTROL_DISCOVERY) {
        return answer(PLDM_BASE_CODE_ERROR_INVALID_PLDM_TYPE);
      }
      return answer(PLDM_BASE_CODE_SUCCESS, {
        command: req.command,
        commands: [...PLDM_TERMINUS_COMMANDS],
      });
    default:
      return answer(PLDM_BASE_CODE_ERROR_UNSUPPORTED_PLDM_CMD);
  }
}
