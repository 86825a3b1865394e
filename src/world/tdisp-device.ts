/**
 * The whole TDISP device (PCIe 6.x chapter 11 with DSP0274 / DSP0277 on the DOE mailbox of
 * 6.30 / 6.31.3): the PCIe hardware model of a profile, its Device Security Manager
 * (IDE_KM + TDISP responders, TDI state machine) and an SPDM responder whose
 * vendor-defined registry holds the DSM's handlers, wired to function 0's DOE mailbox.
 *
 * One DSM, many SPDM connections: the DOE mailbox is one connection (id 0); every
 * spdm-emu socket connection gets a fresh SPDM connection state (ids 1, 2, ...) of the
 * same device, whose TDIs and IDE streams persist across connections. When an SPDM session
 * ends (END_SESSION, a failure, a new GET_VERSION, or its socket closing) the DSM hears of
 * it, so streams it keyed go Insecure and TDIs it locked go to ERROR (PCIe 11.4.5).
 *
 * This is composition (world/): device/ knows nothing of transports, so the binding
 * framing, the DOE Discovery answer (the mailbox speaks the same objects as the socket) and
 * the spdm-emu socket server come from transport/ here.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { generateDeviceIdentity } from '../crypto/cert-build.ts';
import { defaultRandom, type RandomSource } from '../crypto/random.ts';
import type { BehaviourName } from '../device/dsm/behaviour.ts';
import type { CxlIdeCapability } from '../device/dsm/cxl-ide-km/keys.ts';
import { DEFAULT_CXL_TSP_CAPABILITY } from '../device/dsm/cxl-tsp/target.ts';
import { Dsm, type DsmConfig, type FirmwareUpdateResult } from '../device/dsm/dsm.ts';
import type { DsmEvent } from '../device/dsm/events.ts';
import { pciDeviceHardware } from '../device/dsm/pci-hardware.ts';
import type { BarView } from '../device/events.ts';
import { walkExtCapabilities } from '../device/pci/config-space.ts';
import { createDevice, type PciDevice } from '../device/pci/device.ts';
import { enumerateDevice, type MmioWindow } from '../device/pci/enumerate.ts';
import { type HostPort, hostPort, internalPort } from '../device/pci/ports.ts';
import type { DeviceProfile, DsmProfile } from '../device/pci/profile.ts';
import { PCI_EXT_CAP_ID_DOE } from '../device/pci/regs.ts';
import { nic } from '../device/profiles/nic.ts';
import type { MeasurementBlockConfig, ResponderConfig } from '../spdm/config.ts';
import type { SpdmEventSink } from '../spdm/events.ts';
import { SpdmResponder } from '../spdm/responder/responder.ts';
import { VendorRegistry } from '../spdm/vendor.ts';
import { decodeTransportPayload, encodeTransportPayload } from '../transport/binding.ts';
import {
  createDoeMailboxTransport,
  type DoeMailboxOptions,
  type DoeMailboxTransport,
} from '../transport/doe-mailbox.ts';
import { doeDiscoveryReply, doeDiscoveryResponder } from '../transport/responder.ts';
import type { SpdmEmuServer, SpdmEmuServerOptions } from '../transport/spdm-emu-server.ts';
import { serveSpdmEmu } from '../transport/spdm-emu-server.ts';
import type { Binding, ResponderHandler } from '../transport/types.ts';
import { decodeDoeObject, isDoeDiscovery } from '../wire/doe.ts';
import { SPDM_DMTF_MEAS_TYPE } from '../wire/spdm/constants.ts';
import type { InterfaceId } from '../wire/tdisp/messages.ts';

/** Who the device is: the chain it serves in slot 0 and the leaf's key. */
export interface DeviceIdentity {
  /** DER certificates, root first and leaf last. */
  certChain: Uint8Array[];
  privateKey: KeyObject;
}

export interface TdispDeviceOptions {
  /** The hardware (default: the built-in NIC). */
  profile?: DeviceProfile;
  /** Default: a fresh P-384 root -> intermediate -> leaf naming the profile's PCI ids. */
  identity?: DeviceIdentity;
  /** Default: profileMeasurements(profile). */
  measurements?: MeasurementBlockConfig[];
  /** DSM behaviour (default 'spec'). */
  behaviour?: BehaviourName;
  /** Anything else of the SPDM responder (versions, capabilities, algorithms, ...). */
  responderConfig?: Partial<ResponderConfig>;
  /** The rest of the DSM configuration. */
  dsm?: Omit<DsmConfig, 'behaviour' | 'random'>;
  /** Nonces, session ids, keys (and the default identity's keys). Default: the OS RNG. */
  random?: RandomSource;
  /** Bus number the device starts on (default 0). */
  bus?: number;
  /**
   * Program BARs, Memory Space / Bus Master Enable and SR-IOV the way platform firmware
   * would before anyone talks to the device (default false: the host does it).
   */
  enumerate?: boolean | MmioWindow;
  /** Trace of every SPDM connection (the DOE mailbox and every socket connection). */
  onSpdmEvent?: SpdmEventSink;
  onDsmEvent?: (e: DsmEvent) => void;
}

/** A TDI as a TSM addresses it. */
export interface TdiInfo {
  fn: number;
  requesterId: number;
  interfaceId: InterfaceId;
  /** Memory BARs as currently programmed. */
  bars: BarView[];
}

export interface TdispDevice {
  readonly profile: DeviceProfile;
  /** The whole hardware model (tests and composition); hosts get `host`. */
  readonly device: PciDevice;
  /** What host software can reach: config space (DOE included) and BAR MMIO only. */
  readonly host: HostPort;
  readonly dsm: Dsm;
  readonly identity: DeviceIdentity;
  /** The trust anchor a requester needs: the first certificate of the chain. */
  readonly root: Uint8Array;
  /** The SPDM responder behind function 0's DOE mailbox. */
  readonly doeResponder: SpdmResponder;
  /** Offset of function 0's DOE Extended Capability. */
  readonly doeOffset: number;
  /**
   * The bus address of every memory BAR enumeration programmed, keyed `${fn}:${bar}`
   * (enumerateDevice), when `enumerate` was set: the host's own record of what it assigned.
   */
  readonly enumerated: ReadonlyMap<string, bigint> | undefined;
  /** The assignable TDIs as they are now. */
  tdis(): TdiInfo[];
  /** A requester transport over function 0's DOE mailbox, through config accesses. */
  doeTransport(opts?: DoeMailboxOptions): DoeMailboxTransport;
  /** A fresh SPDM connection state of this device for `binding` (a new connection id). */
  newResponder(binding: Binding): SpdmResponder;
  /**
   * The spdm-emu server's onConnection: a fresh SPDM connection per TCP connection; its
   * open sessions end (for the DSM) when the connection closes.
   */
  spdmEmuHandler(binding: Binding): SpdmEmuServerOptions['onConnection'];
  /** Serves the device on the spdm-emu socket with DOE discovery. */
  serve(opts: Omit<SpdmEmuServerOptions, 'onConnection'>): Promise<SpdmEmuServer>;
  /**
   * The device's firmware replaced by version `to` (default the next): the DSM decides
   * (refused while a TDI locked with NO_FW_UPDATE is CONFIG_LOCKED or RUN); once applied,
   * the measurements every SPDM connection serves are the new firmware's.
   * @throws RangeError when `to` is not an integer above 0
   */
  firmwareUpdate(to?: number): FirmwareUpdateResult;
  /**
   * Brings the served measurements in line with the DSM's firmware version (after the DSM's
   * state was restored from a snapshot). Measurements given in the options stay as given.
   */
  syncFirmware(): void;
}

/** Routing id of the function hosting the DSM and the DOE mailbox. */
const DSM_FN = 0;

const sha384 = (...parts: (string | Uint8Array)[]): Uint8Array => {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** The profile as canonical text (bigints as decimal strings), for the hardware-config digest. */
function profileText(p: DeviceProfile): string {
  return JSON.stringify(p, (_k, v) =>
    typeof v === 'bigint'
      ? v.toString()
      : v instanceof Uint8Array
        ? Buffer.from(v).toString('hex')
        : v,
  );
}

/**
 * A device's measurement blocks (DSP0274 DMTF measurement types), derived from the profile
 * and the firmware version (default 1): 1 immutable ROM, 2 mutable firmware, 3 hardware
 * configuration (a digest of the whole profile), 4 firmware configuration, 5 version string
 * and 6 SVN (served raw). A firmware update changes 2, 5 and 6.
 */
export function profileMeasurements(p: DeviceProfile, firmware = 1): MeasurementBlockConfig[] {
  const ids = `${p.vendorId.toString(16)}:${p.deviceId.toString(16)}:${(p.revisionId ?? 0).toString(16)}`;
  const svn = new Uint8Array(8);
  new DataView(svn.buffer).setBigUint64(0, BigInt(firmware), true);
  return [
    {
      index: 1,
      valueType: SPDM_DMTF_MEAS_TYPE.IMMUTABLE_ROM,
      value: sha384('teeio rom ', p.name, ' ', ids),
    },
    {
      index: 2,
      valueType: SPDM_DMTF_MEAS_TYPE.MUTABLE_FIRMWARE,
      value: sha384(`teeio firmware ${firmware}.0 `, p.name),
    },
    {
      index: 3,
      valueType: SPDM_DMTF_MEAS_TYPE.HARDWARE_CONFIG,
      value: sha384(profileText(p)),
    },
    {
      index: 4,
      valueType: SPDM_DMTF_MEAS_TYPE.FIRMWARE_CONFIG,
      value: sha384('teeio firmware config ', p.name, ' tdisp ide'),
    },
    {
      index: 5,
      valueType: SPDM_DMTF_MEAS_TYPE.VERSION,
      value: new Uint8Array(Buffer.from(`teeio-${p.name} ${firmware}.0`, 'ascii')),
      alwaysRaw: true,
    },
    {
      index: 6,
      valueType: SPDM_DMTF_MEAS_TYPE.SECURE_VERSION_NUMBER,
      value: svn,
      alwaysRaw: true,
    },
  ];
}

/** The DSM's CXL IDE from the profile's (capabilities default on, port 0 only). */
function cxlIdeCapability(p: DsmProfile['cxlIde']): CxlIdeCapability | undefined {
  if (p === undefined) return undefined;
  return {
    maxPortIndex: p.maxPortIndex ?? 0,
    ivGeneration: p.ivGeneration ?? true,
    keyGeneration: p.keyGeneration ?? true,
    kSetStop: p.kSetStop ?? true,
    containment: p.containment ?? true,
  };
}

/**
 * Builds the device, its DSM and its SPDM responder, and installs the DOE mailbox handler.
 * @throws RangeError for an unbuildable profile or responder configuration; CryptoError when
 *   the default identity cannot be generated.
 */
export async function createTdispDevice(o: TdispDeviceOptions = {}): Promise<TdispDevice> {
  const profile = o.profile ?? nic;
  const random = o.random ?? defaultRandom;
  const device = createDevice(profile, { bus: o.bus });
  const enumerated = o.enumerate
    ? enumerateDevice(device, o.enumerate === true ? undefined : o.enumerate)
    : undefined;
  const inside = internalPort(device);
  const dsm = new Dsm(pciDeviceHardware(inside), {
    cxlIde: cxlIdeCapability(profile.dsm?.cxlIde),
    ...(profile.dsm?.cxlTsp ? { cxlTsp: { ...DEFAULT_CXL_TSP_CAPABILITY } } : {}),
    ...o.dsm,
    behaviour: o.behaviour ?? 'spec',
    random,
  });
  if (o.onDsmEvent) dsm.onEvent(o.onDsmEvent);
  const vendor = new VendorRegistry();
  dsm.registerVendorHandlers(vendor);

  let identity = o.identity;
  if (!identity) {
    const id = await generateDeviceIdentity({
      asym: 'ecdsa-p384',
      name: `teeio ${profile.name}`,
      pcie: {
        vendorId: profile.vendorId,
        deviceId: profile.deviceId,
        classCode: profile.classCode ?? 0,
        revision: profile.revisionId ?? 0,
      },
      rng: o.random,
    });
    identity = { certChain: id.certificates, privateKey: id.leaf.privateKey };
  }
  const measurements = o.measurements ?? profileMeasurements(profile);

  let nextConnectionId = 0;
  const newResponder = (binding: Binding): SpdmResponder => {
    const connectionId = nextConnectionId++;
    const user = o.responderConfig?.onEvent;
    return new SpdmResponder(
      {
        slots: [{ certificates: identity.certChain, privateKey: identity.privateKey }],
        measurements,
        random,
        ...o.responderConfig,
        vendor,
        connectionId,
        onEvent: (e) => {
          // The DSM drops what a finished session keyed or locked.
          if (e.type === 'session' && e.phase === 'ended')
            dsm.sessionEnded(e.connectionId, e.sessionId);
          user?.(e);
          o.onSpdmEvent?.(e);
        },
      },
      binding,
    );
  };

  const doeResponder = newResponder('pci_doe');
  const discovery = doeDiscoveryResponder();
  // Function 0's mailbox: Discovery answered here, (secured) SPDM to the responder. A
  // malformed object throws, which the mailbox shows as DOE Error.
  inside.setDoeHandler((object) => {
    const obj = decodeDoeObject(object);
    if (isDoeDiscovery(obj)) return doeDiscoveryReply(discovery, obj.payload);
    const reply = doeResponder.handle(decodeTransportPayload('pci_doe', object));
    return reply ? encodeTransportPayload('pci_doe', reply) : undefined;
  });

  const doeOffset = walkExtCapabilities((off, size) => device.configRead(DSM_FN, off, size)).find(
    (c) => c.id === PCI_EXT_CAP_ID_DOE,
  )?.offset;
  if (doeOffset === undefined) throw new RangeError(`profile ${profile.name} has no DOE mailbox`);

  const spdmEmuHandler =
    (binding: Binding): SpdmEmuServerOptions['onConnection'] =>
    (conn) => {
      const responder = newResponder(binding);
      conn.onClose(() => {
        for (const s of responder.sessions()) {
          if (s.phase !== 'ended') dsm.sessionEnded(responder.config.connectionId, s.sessionId);
        }
      });
      const handler: ResponderHandler = async (m) => responder.handle(m);
      return handler;
    };

  const syncFirmware = (): void => {
    // Every responder holds this one array: replacing its blocks in place reaches them all.
    if (o.measurements) return;
    measurements.splice(
      0,
      measurements.length,
      ...profileMeasurements(profile, dsm.firmwareVersion),
    );
  };

  return {
    profile,
    device,
    host: hostPort(device),
    dsm,
    identity,
    root: identity.certChain[0],
    doeResponder,
    doeOffset,
    enumerated,
    tdis() {
      return device.tdis().map((fn) => {
        const v = device.securityView(fn);
        return {
          fn,
          requesterId: v.requesterId,
          interfaceId: {
            requesterId: v.requesterId,
            segment: dsm.env.segment,
            segmentValid: false,
          },
          bars: v.bars.filter((b) => b.memory),
        };
      });
    },
    doeTransport(opts) {
      return createDoeMailboxTransport(
        {
          read32: (off) => device.configRead(DSM_FN, off, 4),
          write32: (off, v) => device.configWrite(DSM_FN, off, 4, v >>> 0),
        },
        doeOffset,
        opts,
      );
    },
    newResponder,
    spdmEmuHandler,
    serve(opts) {
      return serveSpdmEmu({ ...opts, onConnection: spdmEmuHandler(opts.transportType) });
    },
    firmwareUpdate(to) {
      const r = dsm.firmwareUpdate(to);
      if (r.ok) syncFirmware();
      return r;
    },
    syncFirmware,
  };
}
