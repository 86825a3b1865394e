/**
 * A Realm's private RAM (RMM specification 1.1: RMI_DATA_CREATE, RMI_DATA_CREATE_UNKNOWN,
 * RMI_DATA_DESTROY, RSI_IPA_STATE_SET): the initial image only before activation, later
 * pages usable only once the Realm asked for them, and a page taken back from the running
 * Realm left RIPAS_DESTROYED with its host granule shared again and scrubbed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownerOf, readPage, writePage } from '../../../src/platform/memory.ts';
import { G, H, ok, refused, world } from './world.ts';

const IPA = 0x8000_0000n;
const PA = 0x1_0000_0000n;

describe('RMI_DATA_* and RSI_IPA_STATE_SET', () => {
  it('creates the image before activation and unknown pages after, each once', async () => {
    const { p, env, rd } = await world('data create');
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA, data: PA }),
    );
    await ok(H.RMI_REALM_CREATE(p, env, { rd }));
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA + 8n, data: PA }),
    );
    await ok(H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA, data: PA }));
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n)]?.state, 'present');
    assert.deepEqual(ownerOf(p.hw.memory, PA >> 12n), { kind: 'private', vm: rd });
    // The same granule twice, or the same IPA twice: refused, nothing changed.
    await refused(p, 'RMI_ERROR_INPUT', () =>
      H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA + 0x1000n, data: PA }),
    );
    await refused(p, 'RMI_ERROR_RTT', () =>
      H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA, data: PA + 0x1000n }),
    );
    await ok(H.RMI_REALM_ACTIVATE(p, env, { rd }));
    await refused(p, 'RMI_ERROR_REALM', () =>
      H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA + 0x1000n, data: PA + 0x1000n }),
    );
    await ok(H.RMI_DATA_CREATE_UNKNOWN(p, env, { rd, ipa: IPA + 0x1000n, data: PA + 0x1000n }));
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n) + 1]?.state, 'pending');
    // The Realm asks for two pages as RAM: the first was added, the walk stops at the second.
    const range = {
      realm: rd,
      ipaBase: IPA + 0x1000n,
      ipaTop: IPA + 0x3000n,
      ripas: 'RIPAS_RAM' as const,
    };
    const r = await ok(G.RSI_IPA_STATE_SET(p, env, range));
    assert.deepEqual(r, { newIpaBase: IPA + 0x2000n, response: 'RSI_REJECT' });
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n) + 1]?.state, 'present');
    await refused(p, 'RSI_ERROR_INPUT', () =>
      G.RSI_IPA_STATE_SET(p, env, { ...range, ipaTop: range.ipaBase }),
    );
  });

  it('destroy scrubs the granule; a usable page is left RIPAS_DESTROYED, a pending one freed', async () => {
    const { p, env, rd } = await world('data destroy');
    await ok(H.RMI_REALM_CREATE(p, env, { rd }));
    await ok(H.RMI_DATA_CREATE(p, env, { rd, ipa: IPA, data: PA }));
    await ok(H.RMI_REALM_ACTIVATE(p, env, { rd }));
    await ok(H.RMI_DATA_CREATE_UNKNOWN(p, env, { rd, ipa: IPA + 0x1000n, data: PA + 0x1000n }));
    writePage(p.hw.memory, Number(PA >> 12n), 0, new Uint8Array([1, 2, 3, 4]));
    await refused(p, 'RMI_ERROR_RTT', () => H.RMI_DATA_DESTROY(p, env, { rd, ipa: IPA + 0x2000n }));

    await ok(H.RMI_DATA_DESTROY(p, env, { rd, ipa: IPA }));
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n)]?.state, 'removed');
    assert.equal(ownerOf(p.hw.memory, PA >> 12n)?.kind, 'shared');
    assert.ok(
      readPage(p.hw.memory, Number(PA >> 12n), 0, 4).every((b) => b === 0),
      'scrubbed',
    );
    // The IPA cannot be given a new granule behind the Realm's back, nor destroyed twice.
    await refused(p, 'RMI_ERROR_RTT', () => H.RMI_DATA_DESTROY(p, env, { rd, ipa: IPA }));
    await refused(p, 'RMI_ERROR_RTT', () =>
      H.RMI_DATA_CREATE_UNKNOWN(p, env, { rd, ipa: IPA, data: PA + 0x2000n }),
    );

    await ok(H.RMI_DATA_DESTROY(p, env, { rd, ipa: IPA + 0x1000n }));
    assert.equal(p.hw.septs.get(rd)?.entries[Number(IPA >> 12n) + 1] !== undefined, false);
    await ok(H.RMI_REALM_DESTROY(p, env, { rd }));
  });
});
