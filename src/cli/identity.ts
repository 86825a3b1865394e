/**
 * Option parsing shared by `teeio responder` and `teeio requester`: transport and SPDM
 * version, algorithm choices (as SPDM bits, DSP0274 1.3 section 10.5), and identities
 * from files (a certificate chain and its private key, trust anchors). Every failure is a
 * CliError with a one-line message that names the option or the file.
 */
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { type AsymAlg, asymAlgsForKey, keyMatchesAsym } from '../crypto/asym.ts';
import { loadCertificates, loadPrivateKey } from '../crypto/cert-load.ts';
import { SPDM_BIT } from '../crypto/suite.ts';
import {
  type AlgorithmPreferences,
  DEFAULT_ALGORITHMS,
  type SlotIdentity,
} from '../spdm/config.ts';
import type { Binding } from '../transport/types.ts';
import { SOCKET_DEFAULT_PORT } from '../wire/socket.ts';
import { SPDM_VERSION_10, SPDM_VERSION_13 } from '../wire/spdm/constants.ts';

/** A mistake in the command line or its files: printed as one line, exit code 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export const TRANSPORTS = ['pci_doe', 'mctp'] as const;
export const HASHES = ['sha256', 'sha384', 'sha512'] as const;
export const ASYMS = [
  'ecdsa-p256',
  'ecdsa-p384',
  'ecdsa-p521',
  'rsassa-2048',
  'rsassa-3072',
  'rsassa-4096',
  'rsapss-2048',
  'rsapss-3072',
  'rsapss-4096',
  'ed25519',
] as const satisfies readonly AsymAlg[];
export const DHES = ['secp256r1', 'secp384r1', 'secp521r1'] as const;
export const AEADS = ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const;

export interface AlgorithmOptions {
  hash?: (typeof HASHES)[number];
  asym?: (typeof ASYMS)[number];
  dhe?: (typeof DHES)[number];
  aead?: (typeof AEADS)[number];
}

export interface LinkOptions {
  trans: Binding;
  ver?: string;
}

/** --trans and --ver. */
export function addLinkOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--trans <type>', 'spdm-emu transport type')
        .choices(TRANSPORTS)
        .default('pci_doe'),
    )
    .option('--ver <versions>', 'SPDM version(s) to speak, e.g. 1.2 or 1.2,1.3 (default 1.0-1.3)');
}

/** --hash, --asym, --dhe, --aead: each narrows the offer to that one algorithm. */
export function addAlgorithmOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--hash <alg>', 'base hash (and measurement hash)').choices(HASHES))
    .addOption(new Option('--asym <alg>', 'signature algorithm').choices(ASYMS))
    .addOption(new Option('--dhe <group>', 'key exchange group').choices(DHES))
    .addOption(new Option('--aead <alg>', 'session cipher').choices(AEADS));
}

/**
 * "1.2" or "1.2,1.3" as SPDMVersion bytes.
 * @throws CliError on anything else.
 */
export function parseVersions(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const out = s.split(',').map((part) => {
    const m = /^\s*1\.(\d)\s*$/.exec(part);
    const v = m ? 0x10 | Number(m[1]) : Number.NaN;
    if (!(v >= SPDM_VERSION_10 && v <= SPDM_VERSION_13)) {
      throw new CliError(`--ver: "${part.trim()}" is not an SPDM version 1.0..1.3`);
    }
    return v;
  });
  return [...new Set(out)].sort();
}

/** @throws CliError unless `s` is a port number 0..65535. */
export function parsePort(s: string, option = '--port'): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535) throw new CliError(`${option}: "${s}" is not a port number`);
  return n;
}

/**
 * "host:port", "host" or ":port" (IPv6 in brackets: "[::1]:2323").
 * @throws CliError on a bad port.
 */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d*))?$/.exec(s.trim());
  if (!m) throw new CliError(`--connect: "${s}" is not host:port`);
  const host = m[1] ?? (m[2] || '127.0.0.1');
  const port = m[3] ? parsePort(m[3], '--connect') : SOCKET_DEFAULT_PORT;
  return { host, port };
}

/** Algorithm preferences with each chosen option as the only one of its kind. */
export function algorithmPreferences(
  o: AlgorithmOptions,
  base: AlgorithmPreferences = DEFAULT_ALGORITHMS,
): AlgorithmPreferences {
  const p: AlgorithmPreferences = { ...base };
  if (o.hash) {
    p.baseHash = [SPDM_BIT.hash[o.hash]];
    p.measurementHash = [SPDM_BIT.measHash[o.hash]];
  }
  if (o.asym) p.baseAsym = [SPDM_BIT.asym[o.asym]];
  if (o.dhe) p.dhe = [SPDM_BIT.dhe[o.dhe]];
  if (o.aead) p.aead = [SPDM_BIT.aead[o.aead]];
  return p;
}

/** The signature algorithms (as SPDM bits, in preference order) a key can serve. */
export function asymBitsForKey(key: KeyObject, preferred: readonly number[]): number[] {
  const can = new Set(asymAlgsForKey(key).map((a) => SPDM_BIT.asym[a]));
  return preferred.filter((b) => can.has(b));
}

function fileError(option: string, path: string, e: unknown): CliError {
  const why = e instanceof Error ? e.message : String(e);
  return new CliError(`${option} ${path}: ${why}`);
}

/**
 * A slot identity from a certificate chain file (DER certificates root first, or PEM) and
 * the leaf's private key (PEM or DER), checked to belong together.
 * @throws CliError when a file cannot be read or parsed, or the key is not the leaf's.
 */
export function loadIdentity(chainPath: string, keyPath: string, asym?: AsymAlg): SlotIdentity {
  let certificates: Uint8Array[];
  let privateKey: KeyObject;
  try {
    certificates = loadCertificates(chainPath);
  } catch (e) {
    throw fileError('--cert-chain', chainPath, e);
  }
  try {
    privateKey = loadPrivateKey(keyPath);
  } catch (e) {
    throw fileError('--key', keyPath, e);
  }
  const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
  let leafSpki: Buffer;
  try {
    const leaf = certificates[certificates.length - 1];
    leafSpki = spki(new X509Certificate(Buffer.from(leaf)).publicKey);
  } catch (e) {
    throw fileError('--cert-chain', chainPath, e);
  }
  if (!leafSpki.equals(spki(createPublicKey(privateKey)))) {
    throw new CliError(
      `--key ${keyPath} is not the private key of the last certificate in ${chainPath}`,
    );
  }
  if (asym && !keyMatchesAsym(privateKey, asym)) {
    throw new CliError(
      `--asym ${asym} does not fit the ${privateKey.asymmetricKeyType} key in ${keyPath}`,
    );
  }
  return { certificates, privateKey };
}

/** --cert-chain and --key: a slot identity from files. */
export function addIdentityOptions(cmd: Command): Command {
  return cmd
    .option('--cert-chain <file>', 'certificate chain, DER certificates root first (or PEM)')
    .option('--key <file>', 'private key of the last certificate (PEM or DER)');
}

/**
 * The identity --cert-chain and --key name (see `loadIdentity`), or undefined when neither
 * is given.
 * @throws CliError when only one is given, or as `loadIdentity` does.
 */
export function loadIdentityOptions(
  o: { certChain?: string; key?: string },
  asym?: AsymAlg,
): SlotIdentity | undefined {
  if (!o.certChain && !o.key) return undefined;
  if (!o.certChain || !o.key) throw new CliError('--cert-chain and --key go together');
  return loadIdentity(o.certChain, o.key, asym);
}

/**
 * DER trust anchors from a file (one or more certificates, DER or PEM).
 * @throws CliError when the file cannot be read or holds no certificate.
 */
export function loadTrust(path: string): Uint8Array[] {
  try {
    return loadCertificates(path);
  } catch (e) {
    throw fileError('--trust', path, e);
  }
}

/** Writes a DER certificate. @throws CliError when the file cannot be written. */
export function writeCertificate(path: string, der: Uint8Array, option = '--write-root'): void {
  try {
    writeFileSync(path, der);
  } catch (e) {
    throw fileError(option, path, e);
  }
}
