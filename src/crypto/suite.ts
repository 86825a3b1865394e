/**
 * The negotiated algorithm suite: from the single bits ALGORITHMS selects (DSP0274 1.3
 * section 10.4, tables "BaseAsymAlgo", "BaseHashAlgo", "DHE", "AEAD") to the concrete
 * algorithms and the sizes (H, S, D, key, IV, tag) every codec and engine needs.
 */
import {
  SPDM_AEAD,
  SPDM_ASYM,
  SPDM_DHE,
  SPDM_HASH,
  SPDM_MEAS_HASH,
} from '../wire/spdm/constants.ts';
import { AEAD_IV_SIZE, AEAD_KEY_SIZE, AEAD_TAG_SIZE, type AeadAlg } from './aead.ts';
import { ASYM_INFO, type AsymAlg } from './asym.ts';
import { type DheGroup, dheExchangeSize } from './dhe.ts';
import { CryptoError } from './errors.ts';
import { HASH_SIZE, type HashAlg, SUPPORTED_HASHES } from './hash.ts';

export const ASYM_FROM_SPDM: Readonly<Record<number, AsymAlg>> = {
  [SPDM_ASYM.TPM_ALG_RSASSA_2048]: 'rsassa-2048',
  [SPDM_ASYM.TPM_ALG_RSAPSS_2048]: 'rsapss-2048',
  [SPDM_ASYM.TPM_ALG_RSASSA_3072]: 'rsassa-3072',
  [SPDM_ASYM.TPM_ALG_RSAPSS_3072]: 'rsapss-3072',
  [SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P256]: 'ecdsa-p256',
  [SPDM_ASYM.TPM_ALG_RSASSA_4096]: 'rsassa-4096',
  [SPDM_ASYM.TPM_ALG_RSAPSS_4096]: 'rsapss-4096',
  [SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P384]: 'ecdsa-p384',
  [SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P521]: 'ecdsa-p521',
  [SPDM_ASYM.EDDSA_ED25519]: 'ed25519',
};

export const HASH_FROM_SPDM: Readonly<Record<number, HashAlg>> = {
  [SPDM_HASH.TPM_ALG_SHA_256]: 'sha256',
  [SPDM_HASH.TPM_ALG_SHA_384]: 'sha384',
  [SPDM_HASH.TPM_ALG_SHA_512]: 'sha512',
  [SPDM_HASH.TPM_ALG_SHA3_256]: 'sha3-256',
  [SPDM_HASH.TPM_ALG_SHA3_384]: 'sha3-384',
  [SPDM_HASH.TPM_ALG_SHA3_512]: 'sha3-512',
};

export const MEAS_HASH_FROM_SPDM: Readonly<Record<number, HashAlg | 'raw'>> = {
  [SPDM_MEAS_HASH.RAW_BIT_STREAM_ONLY]: 'raw',
  [SPDM_MEAS_HASH.TPM_ALG_SHA_256]: 'sha256',
  [SPDM_MEAS_HASH.TPM_ALG_SHA_384]: 'sha384',
  [SPDM_MEAS_HASH.TPM_ALG_SHA_512]: 'sha512',
  [SPDM_MEAS_HASH.TPM_ALG_SHA3_256]: 'sha3-256',
  [SPDM_MEAS_HASH.TPM_ALG_SHA3_384]: 'sha3-384',
  [SPDM_MEAS_HASH.TPM_ALG_SHA3_512]: 'sha3-512',
};

export const DHE_FROM_SPDM: Readonly<Record<number, DheGroup>> = {
  [SPDM_DHE.SECP_256_R1]: 'secp256r1',
  [SPDM_DHE.SECP_384_R1]: 'secp384r1',
  [SPDM_DHE.SECP_521_R1]: 'secp521r1',
};

export const AEAD_FROM_SPDM: Readonly<Record<number, AeadAlg>> = {
  [SPDM_AEAD.AES_128_GCM]: 'aes-128-gcm',
  [SPDM_AEAD.AES_256_GCM]: 'aes-256-gcm',
  [SPDM_AEAD.CHACHA20_POLY1305]: 'chacha20-poly1305',
};

function invert<T extends string>(m: Readonly<Record<number, T>>): Record<T, number> {
  const out = {} as Record<T, number>;
  for (const [bit, name] of Object.entries(m)) out[name] = Number(bit);
  return out;
}

/** The SPDM bit of each algorithm, for building NEGOTIATE_ALGORITHMS / ALGORITHMS. */
export const SPDM_BIT = {
  asym: invert(ASYM_FROM_SPDM),
  hash: invert(HASH_FROM_SPDM),
  measHash: invert(MEAS_HASH_FROM_SPDM),
  dhe: invert(DHE_FROM_SPDM),
  aead: invert(AEAD_FROM_SPDM),
} as const;

function maskOf(m: Readonly<Record<number, string>>, ok: (name: string) => boolean = () => true) {
  let mask = 0;
  for (const [bit, name] of Object.entries(m)) if (ok(name)) mask |= Number(bit);
  return mask >>> 0;
}

/** Every bit teeio can run, per field: what an endpoint may offer. */
export const SUPPORTED_SPDM_ALGORITHMS = {
  baseAsymAlgo: maskOf(ASYM_FROM_SPDM),
  baseHashAlgo: maskOf(HASH_FROM_SPDM, (h) => SUPPORTED_HASHES.includes(h as HashAlg)),
  measurementHashAlgo: maskOf(
    MEAS_HASH_FROM_SPDM,
    (h) => h === 'raw' || SUPPORTED_HASHES.includes(h as HashAlg),
  ),
  dheNamedGroup: maskOf(DHE_FROM_SPDM),
  aeadCipherSuite: maskOf(AEAD_FROM_SPDM),
  reqBaseAsymAlg: maskOf(ASYM_FROM_SPDM),
} as const;

export interface SuiteSizes {
  /** H */
  hashSize: number;
  /** S of the responder's signatures (0 when no asym was selected). */
  signatureSize: number;
  /** S of the requester's signatures (mutual auth; 0 when none). */
  reqSignatureSize: number;
  /** D (0 when no DHE group was selected). */
  dheSize: number;
  aeadKeySize: number;
  ivSize: number;
  tagSize: number;
}

export interface AlgorithmSuite {
  hash: HashAlg;
  asym?: AsymAlg;
  reqAsym?: AsymAlg;
  dhe?: DheGroup;
  aead?: AeadAlg;
  measurementHash?: HashAlg | 'raw';
  sizes: SuiteSizes;
}

export interface SpdmAlgorithmSelection {
  baseHashAlgo: number;
  baseAsymAlgo: number;
  dheNamedGroup?: number;
  aeadCipherSuite?: number;
  reqBaseAsymAlg?: number;
  measurementHashAlgo?: number;
}

function pick<T>(field: string, bits: number, table: Readonly<Record<number, T>>): T | undefined {
  const v = bits >>> 0;
  if (v === 0) return undefined;
  if ((v & (v - 1)) !== 0) {
    throw new CryptoError(
      'bad-selection',
      `${field} 0x${v.toString(16)} selects more than one algorithm`,
    );
  }
  const alg = table[v];
  if (alg === undefined) {
    throw new CryptoError(
      'unsupported',
      `${field} 0x${v.toString(16)} is not implemented by teeio`,
    );
  }
  return alg;
}

/**
 * The suite for the single bits an ALGORITHMS response selected. A zero field means "none"
 * (e.g. no DHE without KEY_EX_CAP), except BaseHashAlgo, which every signature and
 * transcript needs.
 * @throws CryptoError('unsupported') for a bit teeio does not implement (FFDHE, SM2, SM3,
 *   SM4, Ed448, SHA3 without OpenSSL support), CryptoError('bad-selection') for a field
 *   with more than one bit set or a zero BaseHashAlgo.
 */
export function suiteFromSpdm(sel: SpdmAlgorithmSelection): AlgorithmSuite {
  const hash = pick('BaseHashAlgo', sel.baseHashAlgo, HASH_FROM_SPDM);
  if (!hash) throw new CryptoError('bad-selection', 'BaseHashAlgo selects no hash');
  if (!SUPPORTED_HASHES.includes(hash)) {
    throw new CryptoError('unsupported', `${hash} is not available in this node build`);
  }
  const asym = pick('BaseAsymAlgo', sel.baseAsymAlgo, ASYM_FROM_SPDM);
  const reqAsym = pick('ReqBaseAsymAlg', sel.reqBaseAsymAlg ?? 0, ASYM_FROM_SPDM);
  const dhe = pick('DHE', sel.dheNamedGroup ?? 0, DHE_FROM_SPDM);
  const aead = pick('AEADCipherSuite', sel.aeadCipherSuite ?? 0, AEAD_FROM_SPDM);
  const measurementHash = pick(
    'MeasurementHashAlgo',
    sel.measurementHashAlgo ?? 0,
    MEAS_HASH_FROM_SPDM,
  );
  return {
    hash,
    asym,
    reqAsym,
    dhe,
    aead,
    measurementHash,
    sizes: {
      hashSize: HASH_SIZE[hash],
      signatureSize: asym ? ASYM_INFO[asym].signatureSize : 0,
      reqSignatureSize: reqAsym ? ASYM_INFO[reqAsym].signatureSize : 0,
      dheSize: dhe ? dheExchangeSize(dhe) : 0,
      aeadKeySize: aead ? AEAD_KEY_SIZE[aead] : 0,
      ivSize: AEAD_IV_SIZE,
      tagSize: AEAD_TAG_SIZE,
    },
  };
}
