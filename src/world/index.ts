/** world/: composition of the layers into runnable scenarios, and the trace they produce. */
export { ScenarioError } from './errors.ts';
export { checkFlaws, FLAW_NAMES, FLAWS, type Flaw, type FlawName, flawsIn } from './flaws.ts';
export { canonicalEncoding, canonicalHash } from './hash.ts';
export {
  checkInvariants,
  INVARIANTS,
  type Invariant,
  type InvariantView,
  type Violation,
} from './invariants.ts';
export { type LifecycleOptions, type LifecycleResult, runLifecycle } from './lifecycle.ts';
export {
  createPlatformWorld,
  hostMachine,
  type PlatformWorld,
  type PlatformWorldOptions,
} from './platform-world.ts';
export {
  type PlatformWorldSnapshot,
  restorePlatformWorld,
  snapshotPlatformWorld,
} from './snapshot.ts';
export {
  createTdispDevice,
  type DeviceIdentity,
  profileMeasurements,
  type TdiInfo,
  type TdispDevice,
  type TdispDeviceOptions,
} from './tdisp-device.ts';
export { Trace, type TraceRecord, traceRecordJson } from './trace.ts';
export {
  type GuestRole,
  type StepResult,
  World,
  type WorldConfig,
  type WorldStep,
  type WorldVm,
  type WorldVmConfig,
} from './world.ts';
