/**
 * Behaviour profiles of the DSM. 'spec' follows the PCIe 6.x chapter 11 text (SYSTEM.md
 * section 2); 'spdm-emu' reproduces the DMTF spdm-emu sample responder's quirks (WIRE.md,
 * "Responder behaviour differs") so that requesters written against it can be tested.
 *
 * Each profile is data: which request codes are answered, in which TDI states, and the
 * handful of switches where the two disagree. Each switch also serves as a seeded flaw: a
 * 'spec' DSM with one switch turned the 'spdm-emu' way is a responder broken in one place
 * (the conformance suite's tests check that it notices each).
 */
import {
  PCI_TDISP_BIND_P2P_STREAM_REQ,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_GET_CAPABILITIES,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_ALL_REQUEST_REDIRECT,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_BIND_P2P,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_SYSTEM_CACHE_LINE_SIZE,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  PCI_TDISP_START_INTERFACE_REQ,
  PCI_TDISP_STOP_INTERFACE_REQ,
  PCI_TDISP_UNBIND_P2P_STREAM_REQ,
} from '../../wire/tdisp/constants.ts';
import { TDI_STATE_NAMES_ALL, type TdiStateName } from './tdi.ts';

export type BehaviourName = 'spec' | 'spdm-emu';

export interface Behaviour {
  name: BehaviourName;
  /** Request codes answered, with the TDI states each is legal in; others: UNSUPPORTED_REQUEST. */
  legalStates: Readonly<Record<number, readonly TdiStateName[]>>;
  /** GET_TDISP_VERSION re-creates the interface (-> CONFIG_UNLOCKED), as spdm-emu does. */
  versionRecreatesInterface: boolean;
  /** ERROR triggers move LOCKED/RUN TDIs to ERROR (spdm-emu's sample never enters ERROR). */
  entersError: boolean;
  /** Size is checked before the header version (spdm-emu) rather than after (spec). */
  sizeCheckedBeforeVersion: boolean;
  /** GET_TDISP_VERSION is answered for any 1.x header version (spec: major 1 always works). */
  getVersionAnyMinor: boolean;
  /** Responses carry the request's TDISPVersion byte (spdm-emu) instead of 0x10. */
  echoRequestVersion: boolean;
  /** TDISP outside a secured session: processed (spdm-emu) or not answered (spec). */
  tdispOutsideSession: 'process' | 'silent';
  /** LOCK_INTERFACE_REQUEST needs the default stream keyed on its session (spdm-emu: no check). */
  lockNeedsIdeKeys: boolean;
  /** The report's MMIO ranges move by the LOCK's MMIO_REPORTING_OFFSET (spdm-emu ignores it). */
  reportAppliesMmioOffset: boolean;
  /**
   * The TDISP_ERROR code for a request illegal in the TDI's state, by request code where it
   * is not INVALID_INTERFACE_STATE (spdm-emu answers GET_DEVICE_INTERFACE_REPORT in
   * CONFIG_UNLOCKED with INVALID_REQUEST).
   */
  illegalStateError: Readonly<Record<number, number>>;
  /** IDE_KM outside a secured session: processed (spdm-emu) or not answered (spec). */
  ideKmOutsideSession: 'process' | 'silent';
  /** KEY_PROG of the wrong length: KP_ACK IncorrectLength (spec) or SPDM ERROR InvalidRequest. */
  keyProgBadLength: 'kp-ack' | 'spdm-error';
  lockFlagsSupported: number;
  devAddrWidth: number;
  numReqThis: number;
  numReqAll: number;
  /** Largest DEVICE_INTERFACE_REPORT portion the responder sends. */
  reportPortionMax: number;
  /** Highest IDE_KM PortIndex (the DSM's ports are 0..maxPortIndex). */
  maxPortIndex: number;
}

const ANY = TDI_STATE_NAMES_ALL;

/** PCIe 6.x Table "TDISP Request Codes": legal TDISP states per request. */
const SPEC_LEGAL: Readonly<Record<number, readonly TdiStateName[]>> = {
  [PCI_TDISP_GET_VERSION]: ANY,
  [PCI_TDISP_GET_CAPABILITIES]: ANY,
  [PCI_TDISP_LOCK_INTERFACE_REQ]: ['CONFIG_UNLOCKED'],
  [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: ['CONFIG_LOCKED', 'RUN'],
  [PCI_TDISP_GET_DEVICE_INTERFACE_STATE]: ANY,
  [PCI_TDISP_START_INTERFACE_REQ]: ['CONFIG_LOCKED'],
  [PCI_TDISP_STOP_INTERFACE_REQ]: ANY,
  [PCI_TDISP_BIND_P2P_STREAM_REQ]: ['RUN'],
  [PCI_TDISP_UNBIND_P2P_STREAM_REQ]: ['RUN'],
  [PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ]: ['RUN'],
};

/** spdm-emu's dispatch table answers 0x81..0x87 only, and refuses STOP in CONFIG_UNLOCKED. */
const SPDM_EMU_LEGAL: Readonly<Record<number, readonly TdiStateName[]>> = {
  [PCI_TDISP_GET_VERSION]: ANY,
  [PCI_TDISP_GET_CAPABILITIES]: ANY,
  [PCI_TDISP_LOCK_INTERFACE_REQ]: ['CONFIG_UNLOCKED'],
  [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: ['CONFIG_LOCKED', 'RUN'],
  [PCI_TDISP_GET_DEVICE_INTERFACE_STATE]: ANY,
  [PCI_TDISP_START_INTERFACE_REQ]: ['CONFIG_LOCKED'],
  [PCI_TDISP_STOP_INTERFACE_REQ]: ['CONFIG_LOCKED', 'RUN', 'ERROR'],
};

export const BEHAVIOURS: Readonly<Record<BehaviourName, Behaviour>> = {
  spec: {
    name: 'spec',
    legalStates: SPEC_LEGAL,
    versionRecreatesInterface: false,
    entersError: true,
    sizeCheckedBeforeVersion: false,
    getVersionAnyMinor: true,
    echoRequestVersion: false,
    tdispOutsideSession: 'silent',
    lockNeedsIdeKeys: true,
    reportAppliesMmioOffset: true,
    illegalStateError: {},
    ideKmOutsideSession: 'silent',
    keyProgBadLength: 'kp-ack',
    lockFlagsSupported:
      PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE |
      PCI_TDISP_LOCK_INTERFACE_FLAGS_SYSTEM_CACHE_LINE_SIZE |
      PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX |
      PCI_TDISP_LOCK_INTERFACE_FLAGS_BIND_P2P |
      PCI_TDISP_LOCK_INTERFACE_FLAGS_ALL_REQUEST_REDIRECT,
    devAddrWidth: 52,
    // One request at a time: the DOE mailbox carries one object per direction.
    numReqThis: 1,
    numReqAll: 1,
    reportPortionMax: 0x400,
    maxPortIndex: 0,
  },
  'spdm-emu': {
    name: 'spdm-emu',
    legalStates: SPDM_EMU_LEGAL,
    versionRecreatesInterface: true,
    entersError: false,
    sizeCheckedBeforeVersion: true,
    getVersionAnyMinor: false,
    echoRequestVersion: true,
    tdispOutsideSession: 'process',
    lockNeedsIdeKeys: false,
    reportAppliesMmioOffset: false,
    illegalStateError: {
      [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
    },
    ideKmOutsideSession: 'process',
    keyProgBadLength: 'spdm-error',
    // spdm-emu's pci_tdisp_device_context.c
    lockFlagsSupported:
      PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE |
      PCI_TDISP_LOCK_INTERFACE_FLAGS_SYSTEM_CACHE_LINE_SIZE |
      PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
    devAddrWidth: 48,
    numReqThis: 0,
    numReqAll: 0,
    // LIBTDISP_INTERFACE_REPORT_PORTION_LEN
    reportPortionMax: 0x40,
    // libidekm_initialize_device_port_context
    maxPortIndex: 7,
  },
};

/** The request codes a behaviour answers, ascending (for REQ_MSGS_SUPPORTED). */
export function supportedRequests(b: Behaviour): number[] {
  return Object.keys(b.legalStates)
    .map(Number)
    .sort((x, y) => x - y);
}
