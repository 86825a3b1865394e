#!/usr/bin/env node
// The teeio command. teeio runs from its TypeScript sources through tsx (no build step),
// so the bin registers tsx's loader and then hands over to src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
