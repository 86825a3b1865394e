/**
 * The Device Security Manager (PCIe 6.x 11.2 "TDISP rules", 6.33.3 IDE_KM): the IDE_KM and
 * TDISP responders over one plain-data state, the ERROR triggers from the config space, the
 * T-bit policy for the data paths, and registration with the SPDM responder's
 * vendor-defined dispatch (PCI-SIG StandardID 3, VendorID 01 00, ProtocolID 0 / 1).
 *
 * Every request is a transition (state, request, hardware view) -> (state, response,
 * effects, events): this class captures the view (plain data) first, then commits the
 * state, applies the effects to the hardware and publishes the events. Hardware events
 * caused by an effect (a stream the DSM stopped) are handled as they arrive, against the
 * already committed state. The facts the DSM owns (a stream Secure, MSI-X locked) the
 * hardware reads from this state through the installed policy.
 */
import { defaultRandom, type RandomSource } from '../../crypto/random.ts';
import type {
  VendorHandler,
  VendorHandlerResult,
  VendorRegistry,
  VendorRequestContext,
} from '../../spdm/vendor.ts';
import { clonePlain } from '../../wire/clone.ts';
import { CXL_PROTOCOL_ID_IDE_KM, CXL_VENDOR_ID_BYTES } from '../../wire/cxl-idekm/constants.ts';
import { CXL_PROTOCOL_ID_TSP } from '../../wire/cxl-tsp/constants.ts';
import { PCI_PROTOCOL_ID_IDE_KM } from '../../wire/idekm/constants.ts';
import type { KeyOrder } from '../../wire/idekm/messages.ts';
import { SPDM_ERROR_CODE, SPDM_REGISTRY_ID_PCISIG } from '../../wire/spdm/constants.ts';
import { PCISIG_VENDOR_ID_BYTES } from '../../wire/spdm/vendor-defined.ts';
import {
  PCI_PROTOCOL_ID_TDISP,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE,
} from '../../wire/tdisp/constants.ts';
import type { ConfigEventRecord } from '../events.ts';
import { BEHAVIOURS, type Behaviour, type BehaviourName } from './behaviour.ts';
import type { CxlIdeCapability } from './cxl-ide-km/keys.ts';
import { cxlIdeKmRespond } from './cxl-ide-km/responder.ts';
import { cxlTspRespond } from './cxl-tsp/responder.ts';
import type { CxlTspCapability } from './cxl-tsp/target.ts';
import type { DsmEvent } from './events.ts';
import { type DsmFlaw, flawIgnores, flawSkipsRemovedSweep, hasFlaw, isDsmFlaw } from './flaws.ts';
import { captureHwView, type DsmHardware, type TeePolicy } from './hardware.ts';
import { ideKmRespond } from './ide-km/responder.ts';
import { type DsmEnv, type DsmState, type HwEffect, initialDsmState, type Step } from './state.ts';
import type { SessionRef, TdiStateName } from './tdi.ts';
import { tdispRespond } from './tdisp/responder.ts';
import { dmaT, mmioAccess, msixLocked } from './tee-policy.ts';
import { applyConfigEvent, applySessionEnd, toError } from './triggers.ts';

export interface DsmConfig {
  /** 'spec' (default) or 'spdm-emu'. */
  behaviour?: BehaviourName;
  /** Adjusts the behaviour's capabilities (lock flags, portion size, port count, ...). */
  overrides?: Partial<Omit<Behaviour, 'name'>>;
  /** Source of START_INTERFACE_NONCEs (default: the operating system's RNG). */
  random?: RandomSource;
  /** PCI segment of the device (default 0). */
  segment?: number;
  /** Dword order of KEY_PROG keys (default 'spdm-emu'). */
  keyOrder?: KeyOrder;
  /** LOCK needs the default stream's IDE keys (default true; false for RCiEP-like setups). */
  requireIde?: boolean;
  /** TEE ranges are IS_MEM_ATTR_UPDATABLE and SET_MMIO_ATTRIBUTE works (default true). */
  mmioAttributeUpdatable?: boolean;
  /** Device-specific report bytes when the hardware view carries none. */
  deviceSpecificInfo?: (fn: number) => Uint8Array | undefined;
  /** The device's CXL IDE: CXL_IDE_KM is served only when given (default: none). */
  cxlIde?: CxlIdeCapability;
  /** The device's CXL TSP target: CXL TSP is served only when given (default: none). */
  cxlTsp?: CxlTspCapability;
  /** Seeded flaws (flaws.ts) the DSM starts with (default: none, a faithful DSM). */
  flaws?: readonly string[];
}

/** What `Dsm.firmwareUpdate` answers. */
export type FirmwareUpdateResult =
  | { ok: true; from: number; to: number }
  | { ok: false; from: number; blockedBy: number[] };

function sessionOf(ctx: VendorRequestContext): SessionRef | undefined {
  return ctx.sessionId === undefined
    ? undefined
    : { connectionId: ctx.connectionId, sessionId: ctx.sessionId };
}

/** The DSM's configuration: everything a transition reads but the hardware view. */
export type DsmSettings = Omit<DsmEnv, 'hw'>;

export class Dsm {
  readonly env: DsmSettings;
  private s: DsmState = initialDsmState();
  private readonly listeners = new Set<(e: DsmEvent) => void>();

  /**
   * Subscribes to the hardware's security events and installs the T-bit policy.
   * @throws RangeError on an unknown behaviour or flaw name.
   */
  constructor(
    readonly hw: DsmHardware,
    config: DsmConfig = {},
  ) {
    const base = BEHAVIOURS[config.behaviour ?? 'spec'];
    if (base === undefined)
      throw new RangeError(`unknown DSM behaviour ${String(config.behaviour)}`);
    const flaws = config.flaws ?? [];
    const unknown = flaws.find((f) => !isDsmFlaw(f));
    if (unknown !== undefined) throw new RangeError(`unknown DSM flaw ${unknown}`);
    this.s = initialDsmState(flaws as DsmFlaw[]);
    this.env = {
      behaviour: { ...base, ...config.overrides, name: base.name },
      random: config.random ?? defaultRandom,
      segment: config.segment ?? 0,
      keyOrder: config.keyOrder ?? 'spdm-emu',
      requireIde: config.requireIde ?? true,
      mmioAttributeUpdatable: config.mmioAttributeUpdatable ?? true,
      deviceSpecificInfo: config.deviceSpecificInfo ?? (() => undefined),
      ...(config.cxlIde ? { cxlIde: { ...config.cxlIde } } : {}),
      ...(config.cxlTsp ? { cxlTsp: { ...config.cxlTsp } } : {}),
    };
    hw.onSecurityEvent((r) => this.configEvent(r));
    hw.setTeePolicy?.(this.teePolicy);
  }

  /** The current state (plain data; treat as read-only, `snapshot()` for a copy). */
  get state(): Readonly<DsmState> {
    return this.s;
  }

  /** A copy; what is unchanged since `prev` (an earlier snapshot) is prev's own. */
  snapshot(prev?: DsmState): DsmState {
    return clonePlain(this.s, undefined, prev);
  }

  /** Replaces the state (restoring a snapshot); the hardware is not touched. */
  restore(state: DsmState): void {
    this.s = clonePlain(state);
  }

  tdiState(fn: number): TdiStateName {
    return this.s.tdis[fn]?.state ?? 'CONFIG_UNLOCKED';
  }

  /** Listens to the DSM's trace events; returns the unsubscribe function. */
  onEvent(listener: (e: DsmEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** IDE_KM (ProtocolID 0) handler for the vendor-defined dispatch. */
  readonly ideKmHandler: VendorHandler = (ctx, message) =>
    this.guard('IDE_KM', () =>
      ideKmRespond(this.s, message, { env: this.transitionEnv(), session: sessionOf(ctx) }),
    );

  /** TDISP (ProtocolID 1) handler for the vendor-defined dispatch. */
  readonly tdispHandler: VendorHandler = (ctx, message) =>
    this.guard('TDISP', () =>
      tdispRespond(this.s, message, sessionOf(ctx), this.transitionEnv(), ctx.connectionId),
    );

  /**
   * CXL_IDE_KM (CXL VendorID 0x1E98, ProtocolID 0) handler for the vendor-defined dispatch;
   * registered only for a device with CXL IDE.
   */
  readonly cxlIdeKmHandler: VendorHandler = (ctx, message) =>
    this.guard('CXL_IDE_KM', () => {
      const cap = this.env.cxlIde;
      if (cap === undefined) throw new Error('CXL_IDE_KM handler on a device without CXL IDE');
      return cxlIdeKmRespond(this.s, message, {
        env: this.transitionEnv(),
        cap,
        session: sessionOf(ctx),
      });
    });

  /** CXL TSP (CXL VendorID 0x1E98, ProtocolID 1) handler; registered only for a TSP target. */
  readonly cxlTspHandler: VendorHandler = (ctx, message) =>
    this.guard('CXL_TSP', () => {
      const cap = this.env.cxlTsp;
      if (cap === undefined) throw new Error('CXL TSP handler on a device without a TSP target');
      return cxlTspRespond(this.s, message, {
        env: this.transitionEnv(),
        cap,
        session: sessionOf(ctx),
      });
    });

  /** The settings plus the hardware as it is now, captured once for one transition. */
  private transitionEnv(): DsmEnv {
    return { ...this.env, hw: captureHwView(this.hw, this.env.behaviour.maxPortIndex) };
  }

  /**
   * Registers IDE_KM and TDISP under the PCI-SIG registry (StandardID 3, VendorID 01 00),
   * and under the CXL VendorID 0x1E98 (bytes 98 1E) CXL_IDE_KM (ProtocolID 0) for a device
   * with CXL IDE and CXL TSP (ProtocolID 1) for a TSP target. What the device lacks stays
   * unregistered, so the responder answers UnsupportedRequest.
   */
  registerVendorHandlers(registry: VendorRegistry): void {
    const key = (protocolId: number) => ({
      standardId: SPDM_REGISTRY_ID_PCISIG,
      vendorId: PCISIG_VENDOR_ID_BYTES.slice(),
      protocolId,
    });
    registry.register(key(PCI_PROTOCOL_ID_IDE_KM), this.ideKmHandler);
    registry.register(key(PCI_PROTOCOL_ID_TDISP), this.tdispHandler);
    const cxl = (protocolId: number) => ({
      standardId: SPDM_REGISTRY_ID_PCISIG,
      vendorId: CXL_VENDOR_ID_BYTES.slice(),
      protocolId,
    });
    if (this.env.cxlIde) registry.register(cxl(CXL_PROTOCOL_ID_IDE_KM), this.cxlIdeKmHandler);
    if (this.env.cxlTsp) registry.register(cxl(CXL_PROTOCOL_ID_TSP), this.cxlTspHandler);
  }

  /**
   * One config-space security event (the hardware calls this through onSecurityEvent).
   * TDIs whose function disappeared (VFs disabled) go to ERROR as well.
   */
  configEvent(record: ConfigEventRecord): void {
    if (flawIgnores(this.s, record)) {
      this.emit({ kind: 'ERROR_TRIGGER', fn: record.fn, event: record.event, tdis: [] });
      return;
    }
    try {
      const step = applyConfigEvent(this.s, record, this.env.behaviour);
      const present = new Set(this.hw.tdiFunctions());
      const removed = toError(
        step.state,
        (t) => !present.has(t.fn) && !flawSkipsRemovedSweep(this.s),
        `function removed (${record.event.kind} on fn ${record.fn})`,
        this.env.behaviour,
      );
      this.commit({
        ...step,
        state: removed.state,
        result: { kind: 'silent' },
        events: [...step.events, ...removed.events],
      });
    } catch (e) {
      this.emit({ kind: 'INTERNAL_ERROR', protocol: 'CONFIG', message: String(e) });
      // Fail safe: an event the DSM could not evaluate may have changed any TDI's
      // configuration, so every locked or running TDI goes to ERROR (PCIe 6.x 11.2.6).
      const failed = toError(
        this.s,
        () => true,
        `${record.event.kind} on fn ${record.fn} not evaluated`,
        this.env.behaviour,
      );
      this.commit({
        state: failed.state,
        effects: [],
        events: failed.events,
        result: { kind: 'silent' },
      });
    }
  }

  /**
   * The SPDM session ended (END_SESSION or teardown; PCIe 11.4.5): streams it keyed become
   * Insecure and TDIs it locked go to ERROR.
   */
  sessionEnded(connectionId: number, sessionId: number): void {
    const r = applySessionEnd(this.s, { connectionId, sessionId }, this.env.behaviour);
    this.commit({ ...r, result: { kind: 'silent' } });
  }

  /** The firmware version running now (1 until an update was applied). */
  get firmwareVersion(): number {
    return this.s.firmware?.version ?? 1;
  }

  /**
   * The device's firmware is to be replaced by version `to` (default: the next one). With
   * a TDI in CONFIG_LOCKED or RUN locked with NO_FW_UPDATE the update is refused (PCIe 6.x
   * 11.3.8: LOCK's NO_FW_UPDATE, the report's INTERFACE_INFO bit 0); otherwise it is
   * applied at once and every TDI keeps its state: a permitted update is not an ERROR
   * trigger (SYSTEM.md section 2 lists none), only the measurements show it.
   * @throws RangeError when `to` is not an integer above 0
   */
  firmwareUpdate(to = this.firmwareVersion + 1): FirmwareUpdateResult {
    if (!Number.isInteger(to) || to < 1) throw new RangeError(`firmware version ${to}`);
    const from = this.firmwareVersion;
    const blockedBy = Object.values(this.s.tdis)
      .filter(
        (t) =>
          (t.state === 'CONFIG_LOCKED' || t.state === 'RUN') &&
          (t.lock.flags & PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE) !== 0,
      )
      .map((t) => t.fn);
    if (blockedBy.length) {
      this.emit({ kind: 'FIRMWARE_UPDATE', from, to, result: 'refused', blockedBy });
      return { ok: false, from, blockedBy };
    }
    this.s = { ...this.s, firmware: { version: to } };
    this.emit({ kind: 'FIRMWARE_UPDATE', from, to, result: 'applied', blockedBy: [] });
    return { ok: true, from, to };
  }

  /**
   * The T-bit policy installed in the hardware (also usable directly); through it the
   * hardware also shows the DSM's MSI-X lock and stream state, of which it keeps no copy.
   */
  readonly teePolicy: TeePolicy = {
    mmio: (fn, bar, offset, t) =>
      mmioAccess(this.s, () => this.hw.securityView(fn), fn, bar, BigInt(offset), t),
    dmaT: (fn) => dmaT(this.s, fn),
    msixLocked: (fn) => msixLocked(this.s, fn),
    streamSecure: (id) => this.s.ideKm.streams[id]?.secure === true,
  };

  private guard(
    protocol: 'TDISP' | 'IDE_KM' | 'CXL_IDE_KM' | 'CXL_TSP',
    run: () => Step,
  ): VendorHandlerResult {
    let step: Step;
    try {
      step = run();
    } catch (e) {
      this.emit({ kind: 'INTERNAL_ERROR', protocol, message: String(e) });
      return { kind: 'spdm-error', errorCode: SPDM_ERROR_CODE.Unspecified };
    }
    return this.commit(step);
  }

  /** Update (commit the state), apply the effects, emit the events. */
  private commit(step: Step): VendorHandlerResult {
    this.s = step.state;
    const events = [...step.events];
    for (const e of step.effects) events.push(...this.apply(e));
    for (const e of events) this.emit(e);
    return step.result;
  }

  private apply(e: HwEffect): DsmEvent[] {
    switch (e.kind) {
      case 'setStreamState': {
        // The hardware shows Secure from the committed state; a loss it also reports.
        if (e.state === 'Insecure') {
          this.hw.streamLeftSecure?.(e.streamId);
          // The hardware reports this too; the DSM does not rely on it (idempotent).
          const r = applyConfigEvent(
            this.s,
            { fn: 0, event: { kind: 'IDE_STREAM_INSECURE', streamId: e.streamId } },
            this.env.behaviour,
          );
          this.s = r.state;
          return r.events.filter((x) => x.kind === 'TDI_STATE');
        }
        return [];
      }
      case 'scrub':
        if (hasFlaw(this.s, 'device-no-scrub-on-stop')) return [];
        this.hw.scrub(e.fn);
        return [{ kind: 'SCRUB', fn: e.fn }];
    }
  }

  private emit(e: DsmEvent): void {
    for (const l of this.listeners) l(e);
  }
}
