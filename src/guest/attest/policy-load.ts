/**
 * Loading an attestation policy file (docs/policy.md): YAML validated against the schema,
 * every error naming the file, line and field; trust anchors read from PEM or DER files
 * relative to the policy, or taken inline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCertificates } from '../../crypto/cert-load.ts';
import {
  ConfigError,
  type ConfigProblem,
  configPosition,
  decodeYamlConfig,
} from '../../wire/yaml-config.ts';
import {
  type AttestationPolicy,
  type InterfaceInfoFlag,
  type PolicyFile,
  policyFileSchema,
  type ReportReference,
  type TrustAnchorSource,
} from './policy.ts';

/** The DER certificates of one anchor entry. @throws what reading or parsing throws. */
function anchorCertificates(a: TrustAnchorSource, baseDir: string): Uint8Array[] {
  if ('pem' in a) return parseCertificates(new TextEncoder().encode(a.pem));
  return parseCertificates(new Uint8Array(readFileSync(path.resolve(baseDir, a.file))));
}

/**
 * A policy from its text.
 * @param source the file name errors carry
 * @param baseDir where relative trust anchor paths start (the policy file's folder)
 * @throws ConfigError for YAML syntax, a field the schema refuses, or a trust anchor that
 *   cannot be read or does not parse (naming its line and `trustAnchors[i]`)
 */
export function parsePolicy(text: string, source: string, baseDir: string): AttestationPolicy {
  const file: PolicyFile = decodeYamlConfig(text, policyFileSchema, source);
  const trustAnchors: Uint8Array[] = [];
  const problems: ConfigProblem[] = [];
  file.trustAnchors.forEach((a, i) => {
    try {
      trustAnchors.push(...anchorCertificates(a, baseDir));
    } catch (e) {
      const at = ['trustAnchors', i];
      problems.push({ path: at, ...configPosition(text, at), message: (e as Error).message });
    }
  });
  if (problems.length) throw new ConfigError(source, problems);
  return {
    trustAnchors,
    leaf: file.leaf,
    measurements: file.measurements,
    report: {
      ...file.report,
      interfaceInfo: file.report.interfaceInfo as Partial<Record<InterfaceInfoFlag, boolean>>,
      reference: file.report.reference as ReportReference,
    },
    states: file.states,
  };
}

/**
 * A policy file. @throws ConfigError as parsePolicy; node's fs error when the policy itself
 * cannot be read.
 */
export function loadPolicy(file: string): AttestationPolicy {
  return parsePolicy(readFileSync(file, 'utf8'), file, path.dirname(file));
}
