/**
 * The CCA-like flavour's own records (RMM specification 1.1, chapter A9 "Realm device
 * assignment"): the PDEV (A9.2, a communication channel between the RMM and a physical
 * device) and the VDEV (A9.4, the binding of one device function to one Realm), with their
 * real lifecycle states, and per Realm the Protected IPAs of device memory with their RIPAS
 * (A5.2.2) and whether the Realm is still alive. Plain data (DESIGN.md principle 2).
 *
 * The RMI names objects by the physical address of their granule; the model names a PDEV by
 * the requester id of its function 0, a VDEV by the requester id of its TDI (tdi_id), a Realm
 * by the core's VmId. The Realm names its VDEV by the vdev_id the Host gave at VDEV_CREATE.
 *
 * The TSM core (platform/tsm) keeps what every flavour shares (the SPDM link, the TDI's
 * TDISP state, nonce and report, its one VM); these records keep only what the RMM adds.
 */
import type { VmId } from '../tsm/state.ts';
import type { PdevState, Ripas, RmiHash, VdevState } from './status.ts';

/** A device transaction the Host has yet to carry with RMI_PDEV/VDEV_COMMUNICATE. */
export type DevCommState = 'DEV_COMM_IDLE' | 'DEV_COMM_PENDING';

export interface Pdev {
  /** Requester id of the device's function 0 (the DSM). */
  pdevId: number;
  state: PdevState;
  comm: DevCommState;
  hashAlgo: RmiHash;
  /** Requester ids this PDEV's VDEVs may use: [ridBase, ridTop). */
  ridBase: number;
  ridTop: number;
  /** Digest of the certificate chain read in PDEV_NEW (the Host caches the chain itself). */
  certDigest?: Uint8Array;
  /**
   * The leaf certificate's public key (SPKI, DER) of that chain: what the device's
   * KEY_EXCHANGE_RSP signature verifies with, so the key the Host sets must be this one.
   */
  leafKey?: Uint8Array;
  /** The public key the Host supplied with RMI_PDEV_SET_PUBKEY (SubjectPublicKeyInfo, DER). */
  publicKey?: Uint8Array;
}

/** The operation a VDEV's pending device transaction performs (RmmVdevOperation). */
export type VdevOp = 'VDEV_OP_UNLOCK' | 'VDEV_OP_LOCK' | 'VDEV_OP_START' | 'VDEV_OP_GET_REPORT';

/** RmmVdevAttestInfo: what ties a Realm's checks to one LOCK and one report. */
export interface AttestInfo {
  /** Generated on each transition to VDEV_LOCKED; 0 before the first. */
  lockNonce: bigint;
  /** GET_MEASUREMENTS request sequence number. */
  measNonce: bigint;
  /** GET_INTERFACE_REPORT request sequence number. */
  reportNonce: bigint;
}

export interface Vdev {
  /** Requester id of the TDI (tdi_id). */
  tdiId: number;
  /** The Realm's name for it. */
  vdevId: bigint;
  pdev: number;
  realm: VmId;
  state: VdevState;
  op?: VdevOp;
  comm: DevCommState;
  dma: 'VDEV_DMA_DISABLED' | 'VDEV_DMA_ENABLED';
  attest: AttestInfo;
  /** Digest (PDEV hash algorithm) of the interface report last fetched; absent before. */
  reportDigest?: Uint8Array;
}

/** A Protected IPA page of device memory in a Realm's RTT. */
export interface DevIpa {
  ripas: Ripas;
  /** The VDEV whose memory it maps, while mapped. */
  vdev?: number;
  /** Host physical address mapped, while mapped. */
  pa?: bigint;
}

export interface RealmDa {
  /** Set when the Realm took a fatal abort: it runs no more. */
  dead?: { ipa: bigint; ripas: Ripas };
  /** Device-memory IPAs (page aligned) the RMM tracks for this Realm. */
  ipas: Map<bigint, DevIpa>;
}

export interface CcaState {
  pdevs: Map<number, Pdev>;
  vdevs: Map<number, Vdev>;
  realms: Map<VmId, RealmDa>;
  /** The last lock nonce handed out (nonces never repeat within a platform's life). */
  lastLockNonce: bigint;
}

export function createCcaState(): CcaState {
  return { pdevs: new Map(), vdevs: new Map(), realms: new Map(), lastLockNonce: 0n };
}

/** The VDEV a Realm names `vdevId` (VdevFromVdevId), if any. */
export function vdevOfRealm(s: CcaState, realm: VmId, vdevId: bigint): Vdev | undefined {
  for (const v of s.vdevs.values()) if (v.realm === realm && v.vdevId === vdevId) return v;
  return undefined;
}

/** How many VDEVs a PDEV has (pdev.num_vdevs). */
export function numVdevs(s: CcaState, pdev: number): number {
  let n = 0;
  for (const v of s.vdevs.values()) if (v.pdev === pdev) n++;
  return n;
}
