/**
 * The trace viewer page in a real browser (Debian's chromium through playwright-core): the
 * seeded spdm-emu lifecycle, whose two host-attack checks fail, plus records of kinds the
 * viewer has no case for. Loads the page from a file (offline, nothing fetched), clicks an
 * SPDM message and reads the detail pane (name, hex, decoded fields), a TDISP one (the
 * TDISP fields inside the vendor-defined message), checks the failures bar and the
 * highlighted rows, filters by text, component, TDI and problems, and takes a screenshot
 * (TEEIO_UPDATE_SCREENSHOT=1 writes it to docs/viewer.png for the README).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { writeViewerPage } from '../../src/cli/view.ts';
import { chromiumPath, launch, SKIP_MESSAGE } from './browser.ts';
import { emuTrace, UNKNOWN_KINDS } from './traces.ts';

/** What the page exposes to its tests (web/src/main.ts, ViewerHandle). */
declare const window: {
  teeioViewer: { ready: boolean; events: number; visible: number; text: string };
};

const chromium = chromiumPath();
if (!chromium) console.log(`# ${SKIP_MESSAGE}`);

describe('trace viewer in chromium', { skip: chromium ? false : SKIP_MESSAGE }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'teeio-viewer-'));
  let browser: Awaited<ReturnType<typeof launch>>;
  let page: Page;
  const errors: string[] = [];
  const requests: string[] = [];

  before(async () => {
    const file = join(tmp, 'trace.html');
    await writeViewerPage([...(await emuTrace()), ...UNKNOWN_KINDS], 'spdm-emu lifecycle', file);
    browser = await launch(chromium!);
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => window.teeioViewer?.ready, null, { timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  // biome-ignore lint/performance/useDomNodeTextContent: playwright's Locator.innerText (as rendered, cells apart), not the DOM's
  const text = (l: Locator) => l.innerText();
  const detail = () => page.locator('#detail');
  const visibleRows = () => page.locator('#rows .row');
  /** Types in the search box and waits for the filter to apply. */
  async function search(words: string): Promise<void> {
    await page.fill('#f-text', words);
    await page.waitForFunction((w) => window.teeioViewer.text === w, words);
  }
  /** Finds the first event whose text has `words` through the search box, clicks it, clears. */
  async function clickEvent(words: string): Promise<void> {
    await search(words);
    await page.locator('#rows .row:not(.k-step)').first().click();
    await page.click('#f-clear');
  }

  it('loads offline: one request (the page itself), no script errors, lanes by trust domain', async () => {
    assert.deepEqual(errors, []);
    assert.equal(requests.length, 1, requests.join('\n'));
    assert.match(requests[0], /^file:/);
    const domains = await page.locator('#lanehead .domain').allTextContents();
    for (const d of ['guest', 'VMM', 'host kernel', 'TSM', 'device', 'TDI state']) {
      assert.ok(domains.includes(d), domains.join(', '));
    }
    const lanes = await page.locator('#lanehead .lanetitle').allTextContents();
    for (const l of ['guest kernel', 'iommufd', 'TSM', 'DSM', 'TDI fn 1'])
      assert.ok(lanes.includes(l), lanes.join(', '));
    assert.match(await text(page.locator('#count')), /^\d+ events$/);
  });

  it('shows an SPDM message: its name and result, hex bytes and decoded fields', async () => {
    await clickEvent('spdm get_version');
    const d = detail();
    assert.match(await text(d.locator('h2')), /SPDM GET_VERSION$/);
    assert.match(await text(d.locator('.kv').first()), /between\s+TSM → DSM/);
    assert.match(await text(d.locator('pre.hex')), /^0000 {2}10 84 00 00$/);
    assert.match(await text(d.locator('pre.fields')), /"code": 132/);
    await clickEvent('tdisp lock_interface_request');
    assert.match(await text(d.locator('h2')), /TDISP LOCK_INTERFACE_REQUEST$/);
    assert.match(await text(d.locator('pre.fields')), /"TDISP": \{[\s\S]*"code": 131/);
    await clickEvent('tdisp lock_interface_response');
    assert.match(await text(d.locator('h2')), /LOCK_INTERFACE_RESPONSE/);
    assert.match(await text(d.locator('.kv').first()), /between\s+DSM → TSM/);
  });

  it("draws the TDI's state beside the lanes", async () => {
    const changes = await page.locator('#rows .tdi.change').allTextContents();
    assert.ok(changes.includes('CONFIG_LOCKED'), changes.join(', '));
  });

  it('highlights the failed checks and reaches each in one click', async () => {
    assert.match(await text(page.locator('#failures .failcount')), /^2 failed checks$/);
    const first = page.locator('#failures button.fail').first();
    assert.match(await text(first), /TDI is ERROR after the trigger/);
    await first.click();
    assert.match(await text(detail().locator('h2.s-failed')), /TDI is ERROR after the trigger/);
    assert.match(await text(detail().locator('td.result')), /^FAIL/);
    const selected = page.locator('#rows .row.selected');
    assert.equal(await selected.count(), 1);
    assert.match((await selected.getAttribute('class')) ?? '', /s-failed/);
    assert.ok(await selected.isVisible());
  });

  it('shows an unknown kind of record from its actor, target, op and result', async () => {
    await search('IOMMU_VDEVICE_ALLOC');
    assert.equal(await page.evaluate(() => window.teeioViewer.visible), 1);
    await visibleRows().first().click();
    assert.match(await text(detail().locator('h2')), /IOMMU_VDEVICE_ALLOC/);
    assert.match(await text(detail()), /between\s+VMM → iommufd/);
    assert.match(await text(detail().locator('td.result')), /^-EBUSY$/);
  });

  it('filters by text, component, TDI and problems', async () => {
    const total = await page.evaluate(() => window.teeioViewer.events);
    await search('lock_interface');
    const texts = await visibleRows().allInnerTexts();
    assert.ok(texts.length >= 3);
    assert.ok(
      // The TDI_STATE row matches through its cause, an argument.
      texts.every((t) => /lock_interface|TDI_STATE/i.test(t)),
      texts.join('\n'),
    );
    assert.match(
      await text(page.locator('#count')),
      new RegExp(`^${texts.length} of ${total} events$`),
    );

    await search('');
    await page.selectOption('#f-lane', { label: 'device: DSM' });
    await page.selectOption('#f-tdi', { label: 'TDI fn 1' });
    const dsm = await visibleRows().allInnerTexts();
    assert.ok(dsm.length > 0, await page.evaluate(() => JSON.stringify(window.teeioViewer)));
    const state = await page.evaluate(() => JSON.stringify(window.teeioViewer));
    assert.ok(
      dsm.some((t) => /TDI_STATE/.test(t)),
      `${state} ${JSON.stringify(dsm)}`,
    );
    assert.ok(dsm.every((t) => !/SPDM GET_VERSION/.test(t)));

    await page.click('#f-clear');
    await page.check('#f-problems');
    const problems = page.locator('#rows .row');
    const failed = page.locator('#rows .row.s-failed');
    assert.equal(await failed.count(), 2);
    assert.equal(
      await problems.count(),
      await page.locator('#rows .row.s-failed, #rows .row.s-refused').count(),
    );
    await page.click('#f-clear');
    assert.equal(await page.evaluate(() => window.teeioViewer.visible), total);
  });

  it('takes a screenshot', async () => {
    await clickEvent('tdisp lock_interface_request');
    const shot = join(tmp, 'viewer.png');
    await page.screenshot({ path: shot });
    assert.ok(statSync(shot).size > 10_000);
    if (process.env.TEEIO_UPDATE_SCREENSHOT === '1') {
      const docs = join('docs', 'viewer.png');
      mkdirSync(dirname(docs), { recursive: true });
      writeFileSync(docs, readFileSync(shot));
    }
  });
});
