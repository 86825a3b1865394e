// A worker thread starts without the parent's module hooks: load TypeScript through tsx
// here, then run the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
