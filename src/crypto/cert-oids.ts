/**
 * Object identifiers of SPDM device certificates: DMTF's arc 1.3.6.1.4.1.412.274
 * (DSP0274 1.3 section 10.7.2 "Leaf certificate" and its ASN.1 module) and PCI-SIG's
 * 2.23.147 otherName (PCIe 6.1 section 6.31.3, as Linux's drivers/pci/cma.c checks it).
 */
export const DMTF_OID = {
  /** SubjectAltName otherName: vendor-defined device information (UTF8String). */
  DEVICE_INFO: '1.3.6.1.4.1.412.274.1',
  /** In the SPDM extension: the certificate is a hardware identity (DeviceCert model). */
  HARDWARE_IDENTITY: '1.3.6.1.4.1.412.274.2',
  /** ExtendedKeyUsage: may authenticate as an SPDM responder. */
  EKU_RESPONDER_AUTH: '1.3.6.1.4.1.412.274.3',
  /** ExtendedKeyUsage: may authenticate as an SPDM requester. */
  EKU_REQUESTER_AUTH: '1.3.6.1.4.1.412.274.4',
  /** In the SPDM extension: a mutable certificate. */
  MUTABLE_CERTIFICATE: '1.3.6.1.4.1.412.274.5',
  /** The id-DMTF-spdm-extension certificate extension: SEQUENCE OF SEQUENCE { OID, ... }. */
  SPDM_EXTENSION: '1.3.6.1.4.1.412.274.6',
} as const;

/** PCI-SIG CMA otherName: "Vendor=vvvv:Device=dddd:CC=cccccc:REV=rr[:SSVID=ssss:SSID=ssss][:serial]". */
export const PCISIG_CMA_OID = '2.23.147';

export const X509_OID = {
  SUBJECT_ALT_NAME: '2.5.29.17',
  BASIC_CONSTRAINTS: '2.5.29.19',
  KEY_USAGE: '2.5.29.15',
  EXT_KEY_USAGE: '2.5.29.37',
  SERVER_AUTH: '1.3.6.1.5.5.7.3.1',
  CLIENT_AUTH: '1.3.6.1.5.5.7.3.2',
  OCSP_SIGNING: '1.3.6.1.5.5.7.3.9',
} as const;
