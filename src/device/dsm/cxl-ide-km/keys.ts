/**
 * CXL.cachemem IDE keys of the DSM (CXL 3.x 11.4 CXL_IDE_KM, 8.2.4.22 CXL IDE Capability
 * Structure): per port, per direction (Rx, Tx), a pending key that KEY_PROG writes and
 * K_SET_GO makes the active one, started in Skid or Containment mode; K_SET_STOP erases
 * both and the direction is Insecure again. GETKEY's locally generated key and IV are kept
 * until the next GETKEY. Each key records the SPDM session that programmed it.
 */
import {
  CXL_IDE_CAPABILITY_CXL_IDE_CAPABLE,
  CXL_IDE_CAPABILITY_IDE_STOP_CAPABLE,
  CXL_IDE_CAPABILITY_MODE_CONTAINMENT,
  CXL_IDE_CAPABILITY_MODE_SKID,
  CXL_IDE_KM_IDE_CAP_REG_BLOCK_MAX_COUNT,
  CXL_IDE_KM_QUERY_RESP_CAP_VERSION_1,
  CXL_IDE_KM_QUERY_RESP_IV_GEN_CAP,
  CXL_IDE_KM_QUERY_RESP_K_SET_STOP_CAP,
  CXL_IDE_KM_QUERY_RESP_KEY_GEN_CAP,
  CXL_IDE_REG_CAPABILITY,
  CXL_IDE_REG_STATUS,
  CXL_IDE_STATE_ACTIVE_CONTAINMENT,
  CXL_IDE_STATE_ACTIVE_SKID,
  CXL_IDE_STATE_INSECURE,
} from '../../../wire/cxl-idekm/constants.ts';
import type { SessionRef } from '../tdi.ts';

/** What the device's CXL IDE can do (the device profile's `dsm.cxlIde`). */
export interface CxlIdeCapability {
  /** Highest CXL_IDE_KM PortIndex (ports 0..maxPortIndex). */
  maxPortIndex: number;
  /** QUERY_RESP Caps IV_GEN_CAP: GETKEY returns a device-generated IV. */
  ivGeneration: boolean;
  /** QUERY_RESP Caps KEY_GEN_CAP: GETKEY returns a device-generated key. */
  keyGeneration: boolean;
  /** QUERY_RESP Caps K_SET_STOP_CAP (and IDE.Stop Capable). */
  kSetStop: boolean;
  /** Containment mode besides Skid mode. */
  containment: boolean;
}

export type CxlDirection = 'RX' | 'TX';
export type CxlIdeMode = 'SKID' | 'CONTAINMENT';

export interface CxlKey {
  /** AES-GCM-256 key, 8 dwords in wire order. */
  key: number[];
  /** The Pending Initial IV (3 dwords), or undefined when KEY_PROG asked for the default IV. */
  iv?: number[];
  /** Undefined only when programmed outside a secured session ('spdm-emu' behaviour). */
  programmedBy?: SessionRef;
}

export interface CxlDirectionKeys {
  pending?: CxlKey;
  active?: CxlKey & { mode: CxlIdeMode; startedBy?: SessionRef };
}

export interface CxlPortKeys {
  /** The session that programmed the port's first key: later keys must come on it. */
  owner?: SessionRef;
  rx: CxlDirectionKeys;
  tx: CxlDirectionKeys;
  /** GETKEY's answer, per direction. */
  generated?: Partial<Record<CxlDirection, { key: number[]; iv: number[] }>>;
}

export interface CxlIdeKmState {
  ports: Record<number, CxlPortKeys>;
}

export function emptyCxlPort(): CxlPortKeys {
  return { rx: {}, tx: {} };
}

export function directionKeys(p: CxlPortKeys, d: CxlDirection): CxlDirectionKeys {
  return d === 'RX' ? p.rx : p.tx;
}

export function withDirection(
  p: CxlPortKeys,
  d: CxlDirection,
  keys: CxlDirectionKeys,
): CxlPortKeys {
  return d === 'RX' ? { ...p, rx: keys } : { ...p, tx: keys };
}

export function withPort(st: CxlIdeKmState, portIndex: number, p: CxlPortKeys): CxlIdeKmState {
  return { ports: { ...st.ports, [portIndex]: p } };
}

export function withoutPort(st: CxlIdeKmState, portIndex: number): CxlIdeKmState {
  const ports = { ...st.ports };
  delete ports[portIndex];
  return { ports };
}

/** QUERY_RESP's Caps byte: CXL_IDE_KM version 1 and the generation / stop capabilities. */
export function cxlCaps(c: CxlIdeCapability): number {
  return (
    CXL_IDE_KM_QUERY_RESP_CAP_VERSION_1 |
    (c.ivGeneration ? CXL_IDE_KM_QUERY_RESP_IV_GEN_CAP : 0) |
    (c.keyGeneration ? CXL_IDE_KM_QUERY_RESP_KEY_GEN_CAP : 0) |
    (c.kSetStop ? CXL_IDE_KM_QUERY_RESP_K_SET_STOP_CAP : 0)
  );
}

function stateCode(k: CxlDirectionKeys): number {
  if (!k.active) return CXL_IDE_STATE_INSECURE;
  return k.active.mode === 'SKID' ? CXL_IDE_STATE_ACTIVE_SKID : CXL_IDE_STATE_ACTIVE_CONTAINMENT;
}

/**
 * The port's CXL IDE Capability Structure (8.2.4.22) as QUERY_RESP carries it: the
 * capability register from `c` (AES-GCM-256 / 96-bit MAC is algorithm 0), the status
 * register from the keys (Rx state 3:0, Tx state 7:4), every control, error and timing
 * register 0 (no key refresh or truncation delay requirements).
 */
export function cxlIdeRegisters(c: CxlIdeCapability, p: CxlPortKeys | undefined): number[] {
  const regs = new Array<number>(CXL_IDE_KM_IDE_CAP_REG_BLOCK_MAX_COUNT).fill(0);
  regs[CXL_IDE_REG_CAPABILITY] =
    (CXL_IDE_CAPABILITY_CXL_IDE_CAPABLE |
      CXL_IDE_CAPABILITY_MODE_SKID |
      (c.containment ? CXL_IDE_CAPABILITY_MODE_CONTAINMENT : 0) |
      (c.kSetStop ? CXL_IDE_CAPABILITY_IDE_STOP_CAPABLE : 0)) >>>
    0;
  const port = p ?? emptyCxlPort();
  regs[CXL_IDE_REG_STATUS] = stateCode(port.rx) | (stateCode(port.tx) << 4);
  return regs;
}
