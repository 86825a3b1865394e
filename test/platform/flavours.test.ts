/**
 * The flavours behind one shape: each names itself, starts from plain data that clones and
 * hashes, and keeps its host and guest ABIs apart, every call under its real name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLAVOURS } from '../../src/platform/flavours.ts';
import { canonicalHash } from '../../src/world/hash.ts';

const NAMES: Record<string, { host: RegExp; guest: RegExp }> = {
  tdx: { host: /^TDH\./, guest: /^TDG\./ },
  sev: {
    host: /^(SEV_CMD_|SNP_|TIO_|RMPUPDATE)/,
    guest: /^(TIO_MSG_|PVALIDATE|SNP_SECRETS_PAGE$)/,
  },
  cca: { host: /^RMI_/, guest: /^(RSI_|REALM_)/ },
};

describe('TSM flavours', () => {
  for (const [key, f] of Object.entries(FLAVOURS)) {
    it(`${key}: plain-data records and separate host and guest tables with real names`, () => {
      assert.equal(f.name, key);
      const s = f.create();
      assert.equal(canonicalHash(structuredClone(s)), canonicalHash(s));
      const host = Object.keys(f.host);
      const guest = Object.keys(f.guest);
      assert.ok(host.length > 0 && guest.length > 0);
      assert.deepEqual(
        host.filter((n) => guest.includes(n)),
        [],
        'no call in both tables',
      );
      const want = NAMES[key];
      assert.deepEqual(
        host.filter((n) => !want.host.test(n)),
        [],
        'host call names',
      );
      assert.deepEqual(
        guest.filter((n) => !want.guest.test(n)),
        [],
        'guest call names',
      );
    });
  }
});
