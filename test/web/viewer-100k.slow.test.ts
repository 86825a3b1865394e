/**
 * The viewer with a 100,000-record synthetic trace in chromium (slow: TEEIO_SLOW=1): the
 * page's load (HTML, the embedded JSON, the model, the first rows), a text search, a TDI
 * filter, a jump to a failure and a scroll to the middle, each timed and printed. The bounds
 * are loose (a shared machine); the figures are what to look at.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { viewerPage } from '../../src/cli/view.ts';
import { chromiumPath, launch, SKIP_MESSAGE } from './browser.ts';
import { syntheticTrace } from './traces.ts';

declare const window: {
  teeioViewer: {
    ready: boolean;
    events: number;
    visible: number;
    text: string;
    loadMs: number;
    lastFilterMs: number;
    select(pos: number): void;
  };
};
declare const document: { getElementById(id: string): { scrollTop: number; scrollHeight: number } };
declare function requestAnimationFrame(cb: () => void): number;

const chromium = chromiumPath();
const N = 100_000;

describe('viewer with 100,000 events', { skip: chromium ? false : SKIP_MESSAGE }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'teeio-viewer-100k-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('loads, searches, filters, jumps and scrolls within bounds; prints the figures', async () => {
    const t0 = performance.now();
    const file = join(tmp, 'big.html');
    writeFileSync(file, await viewerPage(syntheticTrace(N), 'synthetic 100k'));
    const pageMs = performance.now() - t0;
    const browser = await launch(chromium!);
    try {
      const page = await browser.context.newPage();
      const t1 = performance.now();
      await page.goto(pathToFileURL(file).href, { timeout: 120_000 });
      await page.waitForFunction(() => window.teeioViewer?.ready, null, { timeout: 120_000 });
      const loadWall = performance.now() - t1;
      const loadMs = await page.evaluate(() => window.teeioViewer.loadMs);
      assert.equal(await page.evaluate(() => window.teeioViewer.events), N);

      const t2 = performance.now();
      await page.fill('#f-text', 'lock tdi 2');
      await page.waitForFunction(() => window.teeioViewer.text === 'lock tdi 2', null, {
        timeout: 60_000,
      });
      const searchWall = performance.now() - t2;
      const searchMs = await page.evaluate(() => window.teeioViewer.lastFilterMs);
      const found = await page.evaluate(() => window.teeioViewer.visible);
      // LOCK_INTERFACE_REQUEST and the TDI_STATE changes (CONFIG_LOCKED) of TDI 2.
      assert.equal(found, N / 20);
      // Once every event's text exists, a second search is the steady-state cost.
      await page.fill('#f-text', 'tdh.devif.create tdi 3');
      await page.waitForFunction(() => window.teeioViewer.text === 'tdh.devif.create tdi 3');
      const search2Ms = await page.evaluate(() => window.teeioViewer.lastFilterMs);

      await page.fill('#f-text', '');
      await page.waitForFunction(() => window.teeioViewer.text === '');
      const t3 = performance.now();
      await page.selectOption('#f-tdi', { label: 'TDI fn 3' });
      const tdiWall = performance.now() - t3;
      const tdiMs = await page.evaluate(() => window.teeioViewer.lastFilterMs);
      await page.click('#f-clear');

      const t4 = performance.now();
      await page.locator('#failures button.fail').last().click();
      await page.locator('#detail h2.s-failed').waitFor();
      const jumpWall = performance.now() - t4;

      const scrollMs = await page.evaluate(
        () =>
          new Promise<number>((ok) => {
            const s = document.getElementById('scroller');
            const t = performance.now();
            s.scrollTop = s.scrollHeight / 2;
            requestAnimationFrame(() => requestAnimationFrame(() => ok(performance.now() - t)));
          }),
      );
      const rows = await page.locator('#rows .row').count();
      assert.ok(rows < 200, `only the rows in view exist (${rows})`);

      const mb = (statSync(file).size / 1e6).toFixed(1);
      const f = (x: number) => `${Math.round(x)} ms`;
      console.log(
        `viewer ${N} events: page ${mb} MB written in ${f(pageMs)}; load ${f(loadMs)} in the page (${f(loadWall)} wall); ` +
          `first search ${f(searchMs)} (${f(searchWall)} wall, ${found} found), next search ${f(search2Ms)}; ` +
          `TDI filter ${f(tdiMs)} (${f(tdiWall)} wall); jump to the last failure ${f(jumpWall)} wall; ` +
          `scroll to the middle ${f(scrollMs)} to painted; ${rows} rows in the DOM`,
      );
      assert.ok(loadMs < 30_000, `load ${loadMs} ms`);
      assert.ok(search2Ms < 2_000 && tdiMs < 2_000, `filters ${search2Ms} ${tdiMs} ms`);
    } finally {
      await browser.close();
    }
  });
});
