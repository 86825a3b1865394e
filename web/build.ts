/**
 * `npm run build:web`: writes the viewer page without a trace to web/dist/viewer.html; it
 * opens trace files itself. `teeio view` builds its pages the same way (src/cli/viewer-page.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildViewerTemplate, writeAtomic } from '../src/cli/viewer-page.ts';

const file = join(dirname(fileURLToPath(import.meta.url)), 'dist/viewer.html');
mkdirSync(dirname(file), { recursive: true });
writeAtomic(file, await buildViewerTemplate());
console.log(`wrote ${file}`);
