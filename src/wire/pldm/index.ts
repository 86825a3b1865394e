/** PLDM base (DMTF DSP0240): the message header, completion codes and Control and Discovery data. */
export * from './constants.ts';
export {
  decodePldmControlRequest,
  decodePldmControlResponse,
  encodePldmControlRequest,
  encodePldmControlResponse,
  PLDM_CONTROL_CODEC_COMMANDS,
  type PldmControlRequestData,
  type PldmControlResponseData,
} from './control.ts';
export {
  decodePldmMessage,
  encodePldmMessage,
  type PldmHeader,
  type PldmMessage,
  type PldmRequest,
  type PldmResponse,
  pldmResponseTo,
} from './message.ts';
