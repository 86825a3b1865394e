/**
 * Encode + decode throughput of IDE_KM KEY_PROG, TDISP LOCK_INTERFACE_REQUEST and the
 * TDISP interface report (messages/s). Inputs are fixed, shaped like the libspdm capture's.
 */
import {
  decodeIdeKm,
  encodeIdeKm,
  type IdeKmKeyProg,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
} from '../src/wire/idekm/index.ts';
import {
  decodeInterfaceReport,
  decodeTdisp,
  encodeInterfaceReport,
  encodeTdisp,
  type InterfaceReport,
  LOCK_INTERFACE_FLAGS,
  type LockInterfaceRequest,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_MESSAGE_VERSION,
} from '../src/wire/tdisp/index.ts';
import type { BenchCase } from './harness.ts';

const BATCH = 100;

const keyProg: IdeKmKeyProg = {
  objectId: PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  streamId: 0,
  keySubStream: { keySet: 0, direction: 'TX', subStream: 1 },
  portIndex: 1,
  key: [
    0x3ea85dad, 0x883bcc3b, 0xc7ca2988, 0xef2ebcc7, 0x9b55d58e, 0x7094ba3d, 0x9b473225, 0x1b70b231,
  ],
  ifv: [0, 1],
};

const lock: LockInterfaceRequest = {
  version: PCI_TDISP_MESSAGE_VERSION,
  code: PCI_TDISP_LOCK_INTERFACE_REQ,
  interfaceId: { requesterId: 0xbeef, segment: 0, segmentValid: false },
  flags:
    LOCK_INTERFACE_FLAGS.NO_FW_UPDATE |
    LOCK_INTERFACE_FLAGS.SYSTEM_CACHE_LINE_SIZE |
    LOCK_INTERFACE_FLAGS.LOCK_MSIX,
  defaultStreamId: 0,
  mmioReportingOffset: 0xd000_0000n,
  bindP2PAddressMask: 0n,
};

const attrs = { msixTable: false, msixPba: false, nonTee: false, updatable: true };
const report: InterfaceReport = {
  interfaceInfo: {
    noUpdateAfterLock: true,
    dmaWithoutPasid: true,
    dmaWithPasid: false,
    atsSupported: false,
    prsSupported: false,
    xtModeSupported: false,
  },
  msixMessageControl: 0,
  lnrControl: 0,
  tphControl: 0,
  mmioRanges: [
    {
      firstPage: 0n,
      numberOfPages: 1,
      attributes: { ...attrs, updatable: false, nonTee: true },
      rangeId: 1,
    },
    { firstPage: 0x8000n, numberOfPages: 4, attributes: attrs, rangeId: 2 },
    { firstPage: 0x10000n, numberOfPages: 8, attributes: attrs, rangeId: 3 },
    { firstPage: 0x20000n, numberOfPages: 8, attributes: attrs, rangeId: 4 },
  ],
  deviceSpecificInfo: new TextEncoder().encode('tdisp_dev_emu\0\0\0'),
};

function roundTrips<T>(enc: (m: T) => Uint8Array, dec: (b: Uint8Array) => unknown, m: T) {
  return () => {
    for (let i = 0; i < BATCH; i++) dec(enc(m));
  };
}

export const cases: BenchCase[] = [
  {
    group: 'idekm',
    name: 'KEY_PROG encode+decode (spdm-emu order)',
    fn: roundTrips(encodeIdeKm, decodeIdeKm, keyProg),
    items: BATCH,
  },
  {
    group: 'idekm',
    name: 'KEY_PROG encode+decode (spdm-rs order)',
    fn: roundTrips(
      (m: IdeKmKeyProg) => encodeIdeKm(m, { keyOrder: 'spdm-rs' }),
      (b) => decodeIdeKm(b, { keyOrder: 'spdm-rs' }),
      keyProg,
    ),
    items: BATCH,
  },
  {
    group: 'tdisp',
    name: 'LOCK_INTERFACE_REQUEST encode+decode',
    fn: roundTrips(encodeTdisp, decodeTdisp, lock),
    items: BATCH,
  },
  {
    group: 'tdisp',
    name: 'interface report (4 ranges) encode+decode',
    fn: roundTrips(encodeInterfaceReport, decodeInterfaceReport, report),
    items: BATCH,
  },
];
