/** The Device Security Manager: IDE_KM and TDISP responders, TDI state machine, interface report. */
export { BEHAVIOURS, type Behaviour, type BehaviourName } from './behaviour.ts';
export { Dsm, type DsmConfig } from './dsm.ts';
export type { DsmEvent } from './events.ts';
export {
  type DsmHardware,
  defaultIdeRegisters,
  type IdeStreamState,
  type TeeAccessResult,
  type TeePolicy,
} from './hardware.ts';
export type { IdeKmState, KeySlot, SlotName, StreamKeys } from './ide-km/keys.ts';
export { buildInterfaceReport, configDrift } from './interface-report.ts';
export { pciDeviceHardware, readIdeRegisterBlock } from './pci-hardware.ts';
export type { DsmState, HwEffect } from './state.ts';
export type { LockRecord, SessionRef, Tdi, TdiStateName } from './tdi.ts';
