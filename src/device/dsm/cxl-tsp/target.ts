/**
 * The CXL TSP target of the DSM (CXL 3.x 11.5 "CXL Trusted Security Protocol"): what the
 * memory device offers (GET_TARGET_CAPABILITIES), its plain-data state (the configuration
 * SET_TARGET_CONFIGURATION wrote, CONFIG_UNLOCKED -> CONFIG_LOCKED, the memory ranges set to
 * TE state), and the configuration report it serves. The lock outlives the SPDM session that
 * set it: it is the target's configuration, cleared by a reset teeio does not model for TSP.
 *
 * The default capabilities are spdm-emu's sample target's, without secondary sessions
 * (teeio does not provision their PSKs): memory encryption with AES-XTS-256, read access
 * control with implicit and explicit in-band TE state changes at 64-byte granularity, locked
 * target firmware update; no CKID or range keys.
 */
import type { CxlTspCapabilities } from '../../../wire/cxl-tsp/capabilities.ts';
import type { CxlTspConfiguration } from '../../../wire/cxl-tsp/configuration.ts';
import {
  CXL_TSP_CONFIGURATION_FEATURES_SUPPORT_LOCKED_TARGET_FW_UPDATE,
  CXL_TSP_EXPLICIT_IB_TE_STATE_CHANGE_GRANULARITY_64B,
  CXL_TSP_MEMORY_ENCRYPTION_ALGORITHMS_AES_XTS_256,
  CXL_TSP_MEMORY_ENCRYPTION_FEATURES_SUPPORT_ENCRYPTION,
  CXL_TSP_TE_STATE_CHANGE_AND_ACCESS_CONTROL_FEATURES_EXPLICIT_IB_TE_STATE_CHANGE,
  CXL_TSP_TE_STATE_CHANGE_AND_ACCESS_CONTROL_FEATURES_IMPLICIT_TE_STATE_CHANGE,
  CXL_TSP_TE_STATE_CHANGE_AND_ACCESS_CONTROL_FEATURES_READ_ACCESS_CONTROL,
} from '../../../wire/cxl-tsp/constants.ts';
import type { SessionRef } from '../tdi.ts';

export type CxlTspCapability = CxlTspCapabilities;

export const DEFAULT_CXL_TSP_CAPABILITY: Readonly<CxlTspCapability> = Object.freeze({
  memoryEncryptionFeaturesSupported: CXL_TSP_MEMORY_ENCRYPTION_FEATURES_SUPPORT_ENCRYPTION,
  memoryEncryptionAlgorithmsSupported: CXL_TSP_MEMORY_ENCRYPTION_ALGORITHMS_AES_XTS_256,
  memoryEncryptionNumberOfRangeBasedKeys: 0,
  teStateChangeAndAccessControlFeaturesSupported:
    CXL_TSP_TE_STATE_CHANGE_AND_ACCESS_CONTROL_FEATURES_READ_ACCESS_CONTROL |
    CXL_TSP_TE_STATE_CHANGE_AND_ACCESS_CONTROL_FEATURES_IMPLICIT_TE_STATE_CHANGE |
    CXL_TSP_TE_STATE_CHANGE_AND_ACCESS_CONTROL_FEATURES_EXPLICIT_IB_TE_STATE_CHANGE,
  supportedExplicitOobTeStateGranularity: 0,
  supportedExplicitIbTeStateGranularity: CXL_TSP_EXPLICIT_IB_TE_STATE_CHANGE_GRANULARITY_64B,
  configurationFeaturesSupported: CXL_TSP_CONFIGURATION_FEATURES_SUPPORT_LOCKED_TARGET_FW_UPDATE,
  numberOfCkids: 0,
  numberOfSecondarySessions: 0,
});

export type CxlTspStateName = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'ERROR';

export interface CxlTspTeRange {
  startingAddress: bigint;
  length: bigint;
}

export interface CxlTspState {
  state: CxlTspStateName;
  /** What SET_TARGET_CONFIGURATION wrote (absent: never configured, all zero). */
  configuration?: CxlTspConfiguration;
  /** The session that configured / locked the target. */
  configuredBy?: SessionRef;
  /** Memory ranges in TE state (SET_TARGET_TE_STATE with TEState 1). */
  teRanges: CxlTspTeRange[];
}

export function initialCxlTspState(): CxlTspState {
  return { state: 'CONFIG_UNLOCKED', teRanges: [] };
}

/** The configuration GET_TARGET_CONFIGURATION reports before any was set: all zero, entries unused. */
export function unconfigured(): CxlTspConfiguration {
  return {
    memoryEncryptionFeaturesEnable: 0,
    memoryEncryptionAlgorithmSelect: 0,
    teStateChangeAndAccessControlFeaturesEnable: 0,
    explicitOobTeStateGranularity: 0,
    configurationFeaturesEnable: 0,
    ckidBase: 0,
    numberOfCkids: 0,
    explicitIbTeStateGranularity: Array.from({ length: 8 }, () => ({
      teStateGranularity: 0n,
      lengthIndex: 0xff,
    })),
  };
}

/** Sizes of the configuration report's structures (cxl_tsp.h's report layout). */
const REPORT_LAYOUT = {
  header: 4,
  pcieDvsecForCxlDevices: 0x3c,
  pcieDvsecForFlexBusPort: 0x20,
  cxlLinkCapabilityStructure: 0x38,
  cxlTimeoutAndIsolationCapabilityStructure: 0x10,
  cxlHdmDecoderCapabilityStructure: 0x10,
  cxlIdeCapabilityStructure: 0x24,
};

/**
 * The target configuration report: ValidTSPReportFields (1, as spdm-emu's sample) and 3
 * reserved bytes, then the PCIe DVSEC for CXL Devices, the Flex Bus port DVSEC, the CXL Link,
 * Timeout and Isolation and HDM Decoder capability structures (zero: teeio models none of
 * them, and no HDM decoders), and the CXL IDE Capability Structure given (port 0's).
 */
export function configurationReport(ideRegisters: readonly number[] | undefined): Uint8Array {
  const size = Object.values(REPORT_LAYOUT).reduce((a, b) => a + b, 0);
  const out = new Uint8Array(size);
  out[0] = 1;
  const ide = size - REPORT_LAYOUT.cxlIdeCapabilityStructure;
  const v = new DataView(out.buffer);
  (ideRegisters ?? []).slice(0, 9).forEach((r, i) => {
    v.setUint32(ide + 4 * i, r, true);
  });
  return out;
}
