/**
 * teeio's library surface: one namespace per layer (DESIGN.md), bottom up.
 *
 *   import { wire, spdm, transport, device, tsm, host, world } from 'teeio';
 *
 * Each namespace is also an entry point of its own ('teeio/wire', 'teeio/spdm', ...).
 */
export * as crypto from './crypto/index.ts';
export * as device from './device/index.ts';
export * as host from './host/index.ts';
export * as tsm from './platform/tsm/index.ts';
export * as spdm from './spdm/index.ts';
export * as transport from './transport/index.ts';
export * as wire from './wire/index.ts';
export * as world from './world/index.ts';
