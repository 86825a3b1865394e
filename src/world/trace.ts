/**
 * The world's trace: one typed record per thing that crossed a boundary (DESIGN.md
 * principle 3). SPDM messages as the TSM saw them, what the device's DSM did, what the
 * untrusted host did to the hardware, and the checks a scenario made. The CLI prints it,
 * `--json` emits it, and later the viewer and invariants read the same records.
 */
import type { DsmEvent } from '../device/dsm/events.ts';
import type { GuestOpEvent } from '../guest/outcome.ts';
import type { HostEvent, UapiEvent } from '../host/outcome.ts';
import type { AbiEvent } from '../platform/abi.ts';
import { type PlatformEvent, platformEventDomain } from '../platform/events.ts';
import type { SpdmEvent, VerifyTarget } from '../spdm/events.ts';
import { describeSpdm, type MessageDescription } from '../wire/describe.ts';
import type { Violation } from './invariants.ts';

/** The requester's checks that are cryptographic verifications (SPDM and DSP0277). */
const CRYPTO_CHECKS = new Set<VerifyTarget>([
  'certificate-chain',
  'challenge-signature',
  'measurements-signature',
  'key-exchange-signature',
  'key-exchange-verify-data',
  'finish-verify-data',
  'psk-exchange-verify-data',
]);

/** Trust domains a record belongs to (SYSTEM.md section 1). */
export type Domain = 'tsm' | 'device' | 'host' | 'guest';

export type TraceRecord =
  /** A scenario step begins (named after the real operation, e.g. "tsm/connect"). */
  | { kind: 'step'; title: string }
  /** One SPDM message between the TSM (requester) and the DSM, plaintext. */
  | {
      kind: 'spdm';
      domain: 'tsm';
      direction: 'to-device' | 'from-device';
      sessionId?: number;
      bytes: Uint8Array;
      description: MessageDescription;
    }
  /** Something the DSM did (TDI transitions, IDE stream state, scrubs, ERROR triggers). */
  | { kind: 'dsm'; domain: 'device'; event: DsmEvent }
  /**
   * What the untrusted host (domain 'host') or the confidential guest (domain 'guest': only
   * it issues T=1 traffic, PCIe 6.x 11.2) did to the hardware, and what the hardware answered.
   */
  | { kind: 'access'; domain: 'host' | 'guest'; action: string; result: string }
  /** What the platform hardware routed, refused or changed (platform/events.ts). */
  | { kind: 'platform'; domain: Domain; event: PlatformEvent }
  /** A firmware ABI call by its real name, from the host (host ABI) or the guest (guest ABI). */
  | { kind: 'abi'; domain: 'host' | 'guest'; event: AbiEvent }
  /** A host kernel operation by its real name (ioctl, sysfs write, kernel call) and its errno. */
  | { kind: 'uapi'; domain: 'host'; event: UapiEvent }
  /**
   * A confidential guest's own operation (its devsec TSM's tsm/lock, the attester, a driver
   * access) or hypercall, with the errno its kernel returns.
   */
  | { kind: 'guest'; domain: 'guest'; event: GuestOpEvent }
  /** A property the scenario checked. */
  | { kind: 'check'; name: string; ok: boolean; detail: string }
  /** A security invariant of SYSTEM.md section 5 that broke after step `step` (0-based). */
  | {
      kind: 'violation';
      invariant: string;
      name: string;
      component: string;
      detail: string;
      step: number;
    };

export class Trace {
  readonly records: TraceRecord[] = [];
  private readonly listeners: Array<(r: TraceRecord) => void> = [];

  /** Receives every record as it is added (the CLI prints while the world runs). */
  onRecord(cb: (r: TraceRecord) => void): void {
    this.listeners.push(cb);
  }

  add(r: TraceRecord): void {
    this.records.push(r);
    for (const l of this.listeners) l(r);
  }

  step(title: string): void {
    this.add({ kind: 'step', title });
  }

  host(action: string, result: string): void {
    this.add({ kind: 'access', domain: 'host', action, result });
  }

  guest(action: string, result: string): void {
    this.add({ kind: 'access', domain: 'guest', action, result });
  }

  violation(v: Violation, step: number): void {
    this.add({ kind: 'violation', ...v, step });
  }

  check(name: string, ok: boolean, detail = ''): boolean {
    this.add({ kind: 'check', name, ok, detail });
    return ok;
  }

  /**
   * The requester's SPDM events as records: every message, and its cryptographic checks
   * (chain, signatures, VerifyData) as checks, so a verification failure shows in the trace.
   */
  spdmSink(): (e: SpdmEvent) => void {
    return (e) => {
      if (e.role !== 'requester') return;
      if (e.type === 'verify') {
        if (CRYPTO_CHECKS.has(e.what)) this.check(`SPDM ${e.what}`, e.verdict === 'ok', e.verdict);
        return;
      }
      if (e.type !== 'message') return;
      this.add({
        kind: 'spdm',
        domain: 'tsm',
        direction: e.direction === 'out' ? 'to-device' : 'from-device',
        sessionId: e.sessionId,
        bytes: e.bytes,
        description: describeSpdm(e.bytes),
      });
    };
  }

  /** The DSM's events; an INTERNAL_ERROR also fails a check (the model itself broke). */
  dsmSink(): (e: DsmEvent) => void {
    return (event) => {
      this.add({ kind: 'dsm', domain: 'device', event });
      if (event.kind === 'INTERNAL_ERROR') {
        this.check(`DSM ${event.protocol} handled without internal error`, false, event.message);
      }
    };
  }

  /** The platform hardware's events, each in the trust domain that caused it. */
  platformSink(): (e: PlatformEvent) => void {
    return (event) => this.add({ kind: 'platform', domain: platformEventDomain(event), event });
  }

  /**
   * What one operation or firmware call caused, in order: uAPI, ABI, the guest's own and
   * hardware events.
   */
  events(events: readonly (HostEvent | AbiEvent | GuestOpEvent)[]): void {
    const hw = this.platformSink();
    for (const e of events) {
      if (e.kind === 'uapi') this.add({ kind: 'uapi', domain: 'host', event: e });
      else if (e.kind === 'abi') this.add({ kind: 'abi', domain: e.domain, event: e });
      else if (e.kind === 'guest') this.add({ kind: 'guest', domain: 'guest', event: e });
      else hw(e);
    }
  }

  get failedChecks(): Extract<TraceRecord, { kind: 'check' }>[] {
    return this.records.filter(
      (r): r is Extract<TraceRecord, { kind: 'check' }> => r.kind === 'check' && !r.ok,
    );
  }
}

/** JSON-safe form of a record (bytes as hex, bigints as strings). */
export function traceRecordJson(r: TraceRecord): unknown {
  return JSON.parse(
    JSON.stringify(r, (_k, v) =>
      v instanceof Uint8Array
        ? Buffer.from(v).toString('hex')
        : typeof v === 'bigint'
          ? `0x${v.toString(16)}`
          : v,
    ),
  );
}
