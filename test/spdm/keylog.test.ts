/**
 * spdm/keylog: the key log line format and the collector the commands write it with.
 *
 * Lines round-trip field for field (fast-check); the expected text of one line is built
 * here by hand, not by the formatter; readers skip comments, blank lines and other labels,
 * ignore unknown fields, and refuse a malformed SPDM_SESSION_KEYS line naming the line and
 * the field; the collector writes one line per session once its data secrets arrive, and a
 * session that never finished its handshake at flush.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatKeylogLine,
  KeylogCollector,
  type KeylogEntry,
  KeylogError,
  parseKeylog,
} from '../../src/spdm/keylog.ts';

const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
const hexOf = (n: number, v: number) => v.toString(16).padStart(2, '0').repeat(n);

const entryArb: fc.Arbitrary<KeylogEntry> = fc
  .record({
    sessionId: fc.nat({ max: 0xffff_ffff }),
    version: fc.constantFrom(0x11, 0x12, 0x13, 0x14),
    hash: fc.constantFrom('sha256', 'sha384', 'sha512', 'sha3-256', 'sha3-384', 'sha3-512'),
    aead: fc.constantFrom('aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'),
    kind: fc.constantFrom('dhe', 'psk'),
    data: fc.boolean(),
    dhe: fc.option(fc.uint8Array({ minLength: 32, maxLength: 66 }), { nil: undefined }),
  })
  .chain((r) => {
    const h = r.hash.endsWith('256') ? 32 : r.hash.endsWith('384') ? 48 : 64;
    const secret = fc.uint8Array({ minLength: h, maxLength: h });
    return fc.tuple(fc.constant(r), fc.array(secret, { minLength: 6, maxLength: 6 }));
  })
  .map(([r, s]) => {
    const e: KeylogEntry = {
      sessionId: r.sessionId,
      version: r.version,
      hash: r.hash as KeylogEntry['hash'],
      aead: r.aead as KeylogEntry['aead'],
      kind: r.kind as KeylogEntry['kind'],
      th1: s[0],
      requestHandshakeSecret: s[1],
      responseHandshakeSecret: s[2],
    };
    if (r.data) Object.assign(e, { th2: s[3], requestDataSecret: s[4], responseDataSecret: s[5] });
    if (r.dhe) e.dheSecret = r.dhe;
    return e;
  });

describe('key log', () => {
  it('one line per entry, in the documented order of fields', () => {
    const e: KeylogEntry = {
      sessionId: 0xfffe0001,
      version: 0x12,
      hash: 'sha256',
      aead: 'aes-128-gcm',
      kind: 'dhe',
      th1: bytes(32, 1),
      requestHandshakeSecret: bytes(32, 2),
      responseHandshakeSecret: bytes(32, 3),
      th2: bytes(32, 4),
      requestDataSecret: bytes(32, 5),
      responseDataSecret: bytes(32, 6),
      dheSecret: bytes(32, 7),
    };
    assert.equal(
      formatKeylogLine(e),
      `SPDM_SESSION_KEYS fffe0001 version=1.2 hash=sha256 aead=aes-128-gcm kind=dhe th1=${hexOf(32, 1)} req_hs=${hexOf(32, 2)} rsp_hs=${hexOf(32, 3)} th2=${hexOf(32, 4)} req_data=${hexOf(32, 5)} rsp_data=${hexOf(32, 6)} dhe=${hexOf(32, 7)}`,
    );
  });

  it('round trips any entry', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 4 }), (es) => {
        const text = `# comment\n\n${es.map(formatKeylogLine).join('\n')}\nCLIENT_RANDOM aa bb\n`;
        assert.deepStrictEqual(parseKeylog(text), es);
      }),
      { numRuns: 200 },
    );
  });

  it('unknown fields are ignored; malformed lines are refused naming the line and field', () => {
    const good = `SPDM_SESSION_KEYS 00000001 version=1.3 hash=sha256 aead=aes-256-gcm kind=psk th1=${hexOf(32, 1)} req_hs=${hexOf(32, 2)} rsp_hs=${hexOf(32, 3)}`;
    assert.equal(parseKeylog(`${good} future=1\n`).length, 1);
    const bad: [string, RegExp][] = [
      ['SPDM_SESSION_KEYS 1 version=1.3', /line 2: session id "1" is not 8 hex digits/],
      [good.replace('hash=sha256', 'hash=md5'), /line 2: hash=md5 is not one of/],
      [good.replace('version=1.3', 'version=2.0'), /line 2: version=2.0 is not 1.1..1.9/],
      [good.replace(` rsp_hs=${hexOf(32, 3)}`, ''), /line 2: no rsp_hs=/],
      [
        good.replace(`th1=${hexOf(32, 1)}`, `th1=${hexOf(31, 1)}`),
        /th1= is 31 bytes, the hash needs 32/,
      ],
      [good.replace('kind=psk', 'kind=x'), /kind=x is not dhe\|psk/],
      [`${good} th2=zz`, /th2= is not hex bytes/],
      [`${good} oops`, /"oops" is not name=value/],
    ];
    for (const [line, why] of bad) {
      assert.throws(
        () => parseKeylog(`# x\n${line}\n`),
        (e: unknown) => {
          assert.ok(e instanceof KeylogError);
          assert.match(e.message, why);
          return true;
        },
      );
    }
  });

  it('the collector writes a session once its data secrets arrive, and pending ones at flush', () => {
    const lines: string[] = [];
    const c = new KeylogCollector((l) => lines.push(l));
    const schedule = { version: 0x13, hash: 'sha256' as const, aeadKeySize: 16 };
    const hs = (id: number, v: number) =>
      c.onSecrets({
        phase: 'handshake',
        sessionId: id,
        kind: 'dhe',
        binding: 'pci_doe',
        schedule,
        aead: 'aes-128-gcm',
        th1: bytes(32, v),
        requestSecret: bytes(32, v + 1),
        responseSecret: bytes(32, v + 2),
        dheSecret: bytes(32, v + 3),
      });
    hs(1, 0x10);
    hs(2, 0x20);
    assert.equal(lines.length, 0);
    c.onSecrets({
      phase: 'data',
      sessionId: 1,
      th2: bytes(32, 0x14),
      requestSecret: bytes(32, 0x15),
      responseSecret: bytes(32, 0x16),
    });
    assert.equal(lines.length, 1);
    const [one] = parseKeylog(lines[0]);
    assert.equal(one.sessionId, 1);
    assert.deepEqual(one.responseDataSecret, bytes(32, 0x16));
    assert.deepEqual(one.dheSecret, bytes(32, 0x13));
    // Session 2 reused before its data secrets (a failed FINISH, then a new KEY_EXCHANGE).
    hs(2, 0x30);
    assert.equal(lines.length, 2);
    assert.equal(parseKeylog(lines[1])[0].th2, undefined);
    c.flush();
    assert.equal(lines.length, 3);
    assert.deepEqual(parseKeylog(lines[2])[0].th1, bytes(32, 0x30));
    c.flush();
    assert.equal(lines.length, 3, 'nothing twice');
  });
});
