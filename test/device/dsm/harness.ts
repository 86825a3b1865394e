/**
 * Test harness for the DSM: builds a device from a profile, enumerates it the way a host
 * does (real config-space writes: BAR addresses, SR-IOV NumVFs / VF BARs / VF Enable,
 * Memory Space and Bus Master Enable), puts a DSM on it, and offers request builders and
 * an IDE_KM key-programming helper that speak bytes to the DSM's vendor handlers.
 */
import { seededRandom } from '../../../src/crypto/random.ts';
import { Dsm, type DsmConfig } from '../../../src/device/dsm/dsm.ts';
import { pciDeviceHardware } from '../../../src/device/dsm/pci-hardware.ts';
import { createDevice, type PciDevice } from '../../../src/device/pci/device.ts';
import { enumerateDevice } from '../../../src/device/pci/enumerate.ts';
import { internalPort } from '../../../src/device/pci/ports.ts';
import type { DeviceProfile } from '../../../src/device/pci/profile.ts';
import type { VendorHandlerResult, VendorRequestContext } from '../../../src/spdm/vendor.ts';
import {
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
} from '../../../src/wire/idekm/constants.ts';
import { decodeIdeKm, encodeIdeKm, type IdeKmMessage } from '../../../src/wire/idekm/messages.ts';
import {
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_MESSAGE_VERSION,
  PCI_TDISP_START_INTERFACE_REQ,
} from '../../../src/wire/tdisp/constants.ts';
import {
  decodeTdisp,
  encodeTdisp,
  type InterfaceId,
  type TdispMessage,
} from '../../../src/wire/tdisp/messages.ts';
import { ReportAssembler } from '../../../src/wire/tdisp/report.ts';

export interface World {
  device: PciDevice;
  dsm: Dsm;
  /** Bus address each (fn, bar) was programmed to. */
  bars: Map<string, bigint>;
}

/**
 * Programs every BAR (PF BARs, then SR-IOV VF BARs with all VFs enabled) from 0xe0000000
 * (64-bit BARs above 4 GiB when large), and sets Memory Space / Bus Master Enable: what
 * platform firmware does (enumerateDevice). Returns the address of each `${fn}:${bar}`.
 */
export function enumerate(device: PciDevice): Map<string, bigint> {
  return enumerateDevice(device);
}

export function makeWorld(
  profile: DeviceProfile,
  config: DsmConfig = {},
  opts: { bus?: number } = {},
): World {
  const device = createDevice(profile, { bus: opts.bus ?? 0x3a });
  const bars = enumerate(device);
  const dsm = new Dsm(pciDeviceHardware(internalPort(device)), {
    random: seededRandom('dsm-test'),
    ...config,
  });
  return { device, dsm, bars };
}

export const SESSION_A = 0xfffe_0001;
export const SESSION_B = 0xfffe_0002;

export function ctx(sessionId: number | undefined, connectionId = 1): VendorRequestContext {
  return { sessionId, spdmVersion: 0x13, connectionId };
}

export function interfaceIdOf(device: PciDevice, fn: number): InterfaceId {
  return { requesterId: device.requesterId(fn), segment: 0, segmentValid: false };
}

/** A TDISP request (header filled in) from its type-specific fields. */
export function tdispReq(
  code: number,
  id: InterfaceId,
  body: Record<string, unknown> = {},
): Uint8Array {
  return encodeTdisp({
    version: PCI_TDISP_MESSAGE_VERSION,
    code,
    interfaceId: id,
    ...body,
  } as TdispMessage);
}

/** Bodies that make each request well-formed (for table tests). */
export function defaultBody(code: number, nonce?: Uint8Array): Record<string, unknown> {
  switch (code) {
    case 0x82:
      return { tsmCaps: 0 };
    case PCI_TDISP_LOCK_INTERFACE_REQ:
      return { flags: 0, defaultStreamId: 0, mmioReportingOffset: 0n, bindP2PAddressMask: 0n };
    case PCI_TDISP_GET_DEVICE_INTERFACE_REPORT:
      return { offset: 0, length: 0x40 };
    case PCI_TDISP_START_INTERFACE_REQ:
      return { startInterfaceNonce: nonce ?? new Uint8Array(32) };
    case 0x88:
    case 0x89:
      return { p2pStreamId: 1 };
    case 0x8a:
      return {
        mmioRange: {
          firstPage: 0n,
          numberOfPages: 1,
          attributes: { msixTable: false, msixPba: false, nonTee: true, updatable: false },
          rangeId: 0,
        },
      };
    case 0x8b:
      return { registryId: 0, vendorId: Uint8Array.of(0x01, 0x00), payload: new Uint8Array() };
    default:
      return {};
  }
}

export function tdisp(
  w: World,
  sessionId: number | undefined,
  bytes: Uint8Array,
  conn = 1,
): VendorHandlerResult {
  return w.dsm.tdispHandler(ctx(sessionId, conn), bytes);
}

/** Sends a TDISP request and decodes the response (fails the test on anything else). */
export function tdispMsg(w: World, sessionId: number, bytes: Uint8Array, conn = 1): TdispMessage {
  const r = tdisp(w, sessionId, bytes, conn);
  if (r.kind !== 'response') throw new Error(`expected a TDISP response, got ${JSON.stringify(r)}`);
  return decodeTdisp(r.message);
}

export function ideKm(
  w: World,
  sessionId: number | undefined,
  m: IdeKmMessage,
  conn = 1,
): IdeKmMessage {
  const r = w.dsm.ideKmHandler(ctx(sessionId, conn), encodeIdeKm(m));
  if (r.kind !== 'response')
    throw new Error(`expected an IDE_KM response, got ${JSON.stringify(r)}`);
  return decodeIdeKm(r.message);
}

const SUBS = [0, 1, 2];
const DIRS = ['RX', 'TX'] as const;

/** KEY_PROG + K_SET_GO for every sub-stream and direction of `streamId` (key set K0). */
export function programStream(
  w: World,
  sessionId: number,
  streamId = 0,
  opts: { conn?: number; skip?: string; go?: boolean } = {},
): void {
  for (const subStream of SUBS) {
    for (const direction of DIRS) {
      if (opts.skip === `${subStream}.${direction}`) continue;
      const keySubStream = { keySet: 0 as const, direction, subStream };
      const key = Array.from({ length: 8 }, (_, i) => (streamId << 24) | (subStream << 8) | i);
      const ack = ideKm(
        w,
        sessionId,
        {
          objectId: PCI_IDE_KM_OBJECT_ID_KEY_PROG,
          streamId,
          keySubStream,
          portIndex: 0,
          key,
          ifv: [0, 1],
        },
        opts.conn,
      );
      if (ack.objectId !== 0x03 || ack.status !== 0)
        throw new Error(`KEY_PROG refused: ${JSON.stringify(ack)}`);
      if (opts.go === false) continue;
      ideKm(
        w,
        sessionId,
        { objectId: PCI_IDE_KM_OBJECT_ID_K_SET_GO, streamId, keySubStream, portIndex: 0 },
        opts.conn,
      );
    }
  }
}

export function stopStream(w: World, sessionId: number, streamId = 0, conn = 1): void {
  for (const subStream of SUBS) {
    for (const direction of DIRS) {
      ideKm(
        w,
        sessionId,
        {
          objectId: PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
          streamId,
          keySubStream: { keySet: 0, direction, subStream },
          portIndex: 0,
        },
        conn,
      );
    }
  }
}

export interface LockOptions {
  flags?: number;
  defaultStreamId?: number;
  mmioReportingOffset?: bigint;
}

/** LOCK_INTERFACE_REQUEST; returns the decoded response. */
export function lock(
  w: World,
  sessionId: number,
  fn: number,
  o: LockOptions = {},
  conn = 1,
): TdispMessage {
  return tdispMsg(
    w,
    sessionId,
    tdispReq(PCI_TDISP_LOCK_INTERFACE_REQ, interfaceIdOf(w.device, fn), {
      flags: o.flags ?? 0,
      defaultStreamId: o.defaultStreamId ?? 0,
      mmioReportingOffset: o.mmioReportingOffset ?? 0n,
      bindP2PAddressMask: 0n,
    }),
    conn,
  );
}

/** START_INTERFACE_REQUEST with `nonce` (as LOCK returned it); returns the decoded response. */
export function start(
  w: World,
  sessionId: number,
  fn: number,
  nonce: Uint8Array,
  conn = 1,
): TdispMessage {
  return tdispMsg(
    w,
    sessionId,
    tdispReq(PCI_TDISP_START_INTERFACE_REQ, interfaceIdOf(w.device, fn), {
      startInterfaceNonce: nonce,
    }),
    conn,
  );
}

/** The whole report, fetched in portions of `portion` bytes. */
export function fetchReport(w: World, sessionId: number, fn: number, portion = 0x40): Uint8Array {
  const asm = new ReportAssembler({ portionLength: portion });
  for (;;) {
    const next = asm.nextRequest();
    if (!next) return asm.report();
    const m = tdispMsg(
      w,
      sessionId,
      tdispReq(PCI_TDISP_GET_DEVICE_INTERFACE_REPORT, interfaceIdOf(w.device, fn), { ...next }),
    );
    if (m.code !== 0x04) throw new Error(`report refused: ${JSON.stringify(m)}`);
    const done = asm.add(m, next.length);
    if (done) return done;
  }
}
