/** RSA device identities (key generation takes seconds). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateDeviceIdentity } from '../../src/crypto/cert-build.ts';
import { buildCertChain } from '../../src/crypto/cert-chain.ts';
import { verifyCertChain } from '../../src/crypto/cert-verify.ts';

describe('RSA identities', () => {
  for (const asym of ['rsassa-2048', 'rsapss-3072'] as const) {
    it(`${asym} verifies with its own algorithm`, async () => {
      const g = await generateDeviceIdentity({ asym, role: 'requester' });
      const r = verifyCertChain(buildCertChain('sha384', g.certificates), {
        hash: 'sha384',
        trustAnchors: [g.root.certificate],
        asym,
        require: { spdmEku: 'requester', hardwareIdentity: true },
      });
      assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`);
    });
  }
});
