/**
 * platform/tsm: the TEE Security Manager's device-facing clients (SYSTEM.md sections 3-4):
 * IDE_KM key programming and the TDISP requester over an SPDM secured session, and the
 * attestation check of an interface report against the BARs the host assigned, and the
 * bind / unbind sequence built from them (bind.ts).
 */

export {
  type AssignedBar,
  checkReport,
  type PlacedRange,
  type ReportCheckOptions,
  type ReportCheckResult,
  type ReportMismatch,
} from '../../wire/tdisp/report-ranges.ts';
export {
  type CheckedReport,
  connectDevice,
  type DeviceConnection,
  endSession,
  fetchCheckedReport,
  type LockedTdi,
  lockTdi,
  type ProgrammedStream,
  programIdeStream,
  startTdi,
  stopIdeStream,
  stopTdi,
} from './bind.ts';
export {
  IdeKmAckError,
  kpAckStatusName,
  TdispErrorResponse,
  TsmProtocolError,
} from './errors.ts';
export {
  IdeKmClient,
  type IdeKmClientOptions,
  type KeySlotRef,
  type ProgrammedKey,
  type SetupSequence,
  type SubStreamName,
  slotLabel,
  streamSlots,
} from './ide-km-client.ts';
export { type SecuredChannel, sendPciSig } from './pci-sig.ts';
export {
  DEFAULT_LOCK_FLAGS,
  type FetchedReport,
  type LockOptions,
  type TdiRef,
  type TdiStateReport,
  TdispClient,
  type TdispClientOptions,
} from './tdisp-client.ts';
