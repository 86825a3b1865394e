/**
 * Dispatch table from TDISP MessageType to the family codec. Each family file exports its
 * codecs; add one line per code here. Codes not listed decode to the unknown case.
 */
import { getTdispCapabilitiesCodec, tdispCapabilitiesCodec } from './capabilities.ts';
import type { TdispFamilyCodec } from './codec.ts';
import * as C from './constants.ts';
import {
  deviceInterfaceReportCodec,
  getDeviceInterfaceReportCodec,
} from './device-interface-report.ts';
import { tdispErrorCodec } from './error.ts';
import { deviceInterfaceStateCodec, getDeviceInterfaceStateCodec } from './interface-state.ts';
import { lockInterfaceRequestCodec, lockInterfaceResponseCodec } from './lock.ts';
import { setMmioAttributeRequestCodec, setMmioAttributeResponseCodec } from './mmio-attribute.ts';
import {
  bindP2PStreamRequestCodec,
  bindP2PStreamResponseCodec,
  unbindP2PStreamRequestCodec,
  unbindP2PStreamResponseCodec,
} from './p2p.ts';
import { startInterfaceRequestCodec, startInterfaceResponseCodec } from './start.ts';
import { stopInterfaceRequestCodec, stopInterfaceResponseCodec } from './stop.ts';
import { setTdispConfigRequestCodec, setTdispConfigResponseCodec } from './tdisp-config.ts';
import { vdmRequestCodec, vdmResponseCodec } from './vdm.ts';
import { getTdispVersionCodec, tdispVersionCodec } from './version.ts';

export const TDISP_CODECS: Readonly<Record<number, TdispFamilyCodec>> = {
  [C.PCI_TDISP_GET_VERSION]: getTdispVersionCodec,
  [C.PCI_TDISP_VERSION]: tdispVersionCodec,
  [C.PCI_TDISP_GET_CAPABILITIES]: getTdispCapabilitiesCodec,
  [C.PCI_TDISP_CAPABILITIES]: tdispCapabilitiesCodec,
  [C.PCI_TDISP_LOCK_INTERFACE_REQ]: lockInterfaceRequestCodec,
  [C.PCI_TDISP_LOCK_INTERFACE_RSP]: lockInterfaceResponseCodec,
  [C.PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: getDeviceInterfaceReportCodec,
  [C.PCI_TDISP_DEVICE_INTERFACE_REPORT]: deviceInterfaceReportCodec,
  [C.PCI_TDISP_GET_DEVICE_INTERFACE_STATE]: getDeviceInterfaceStateCodec,
  [C.PCI_TDISP_DEVICE_INTERFACE_STATE]: deviceInterfaceStateCodec,
  [C.PCI_TDISP_START_INTERFACE_REQ]: startInterfaceRequestCodec,
  [C.PCI_TDISP_START_INTERFACE_RSP]: startInterfaceResponseCodec,
  [C.PCI_TDISP_STOP_INTERFACE_REQ]: stopInterfaceRequestCodec,
  [C.PCI_TDISP_STOP_INTERFACE_RSP]: stopInterfaceResponseCodec,
  [C.PCI_TDISP_BIND_P2P_STREAM_REQ]: bindP2PStreamRequestCodec,
  [C.PCI_TDISP_BIND_P2P_STREAM_RSP]: bindP2PStreamResponseCodec,
  [C.PCI_TDISP_UNBIND_P2P_STREAM_REQ]: unbindP2PStreamRequestCodec,
  [C.PCI_TDISP_UNBIND_P2P_STREAM_RSP]: unbindP2PStreamResponseCodec,
  [C.PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ]: setMmioAttributeRequestCodec,
  [C.PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP]: setMmioAttributeResponseCodec,
  [C.PCI_TDISP_VDM_REQ]: vdmRequestCodec,
  [C.PCI_TDISP_VDM_RSP]: vdmResponseCodec,
  [C.PCI_TDISP_SET_TDISP_CONFIG_REQ]: setTdispConfigRequestCodec,
  [C.PCI_TDISP_SET_TDISP_CONFIG_RSP]: setTdispConfigResponseCodec,
  [C.PCI_TDISP_ERROR]: tdispErrorCodec,
};
