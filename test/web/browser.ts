/**
 * Debian's chromium driven by playwright-core for the viewer tests: no browser download,
 * a fresh profile per launch, nothing reaching the network. `chromiumPath()` is undefined
 * where chromium is not installed (.ci/run installs it with apt-get where it can).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

const CANDIDATES = [process.env.TEEIO_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The chromium executable, or undefined when none is installed. */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p): p is string => !!p && existsSync(p));
}

export const SKIP_MESSAGE =
  'chromium not found (/usr/bin/chromium; apt-get install -y chromium, or set TEEIO_CHROMIUM): browser test skipped';

/** A headless chromium with its own throw-away profile; `close()` removes the profile. */
export async function launch(executablePath: string): Promise<{
  context: BrowserContext;
  close: () => Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), 'teeio-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1600, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
