/**
 * The vendor-defined dispatch between the SPDM responder and the protocols that ride on
 * VENDOR_DEFINED_REQUEST (DSP0274 "VENDOR_DEFINED_REQUEST"; PCIe 6.x 6.31.3 for the
 * PCI-SIG registry). The device layer registers IDE_KM, TDISP and the CXL protocols here by
 * (standard id, vendor id, protocol id); the responder knows nothing of their contents.
 */

/** Where a vendor-defined request arrived: which secured session, if any. */
export interface VendorRequestContext {
  /** The DSP0277 session id when the request came inside a secured session. */
  sessionId?: number;
  /** The negotiated SPDMVersion byte of the connection. */
  spdmVersion: number;
  /** An id of the SPDM connection (one per requester link), for per-connection state. */
  connectionId: number;
}

export type VendorHandlerResult =
  /** Send this protocol message back (it is wrapped in VENDOR_DEFINED_RESPONSE). */
  | { kind: 'response'; message: Uint8Array }
  /** Answer SPDM ERROR with this code (e.g. InvalidRequest for a malformed message). */
  | { kind: 'spdm-error'; errorCode: number; errorData?: number }
  /** Send nothing at all (TDISP outside a secured session gets no response). */
  | { kind: 'silent' };

/**
 * A protocol handler: receives the protocol message bytes that follow the ProtocolID byte
 * and returns what to answer. Handlers must not throw on peer bytes.
 */
export type VendorHandler = (ctx: VendorRequestContext, message: Uint8Array) => VendorHandlerResult;

export interface VendorProtocolKey {
  /** SPDM StandardID (registry), 0x0003 for PCI-SIG. */
  standardId: number;
  /** VendorID bytes as they appear on the wire (PCI-SIG: 01 00). */
  vendorId: Uint8Array;
  /** ProtocolID, the payload's first byte (PCI-SIG: 0 IDE_KM, 1 TDISP; CXL: 0 CXL_IDE_KM, 1 TSP). */
  protocolId: number;
}

/** A registry of handlers; a request of an unregistered protocol gets UnsupportedRequest. */
export class VendorRegistry {
  private readonly handlers = new Map<string, VendorHandler>();

  private static key(k: VendorProtocolKey): string {
    return `${k.standardId}:${Buffer.from(k.vendorId).toString('hex')}:${k.protocolId}`;
  }

  register(k: VendorProtocolKey, h: VendorHandler): void {
    this.handlers.set(VendorRegistry.key(k), h);
  }

  lookup(k: VendorProtocolKey): VendorHandler | undefined {
    return this.handlers.get(VendorRegistry.key(k));
  }
}
