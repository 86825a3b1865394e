/**
 * Results of pure cryptographic functions kept by a digest of their inputs: under a seeded
 * run the explorer reaches the same inputs again and again (a state revisited draws the
 * same scalar, signs the same transcript, checks the same chain), and a result computed
 * once is not computed again. Bounded, the oldest going first. The keys are digests, so no
 * secret input is held in clear; the entries are plain data another thread can start with
 * (world/kept.ts).
 */
import { createHash } from 'node:crypto';

export class KeptResults<V> {
  private readonly map = new Map<string, V>();

  /**
   * @param limit entries kept
   * @param copy how a value goes in and out: a caller may change (or wipe) what it was
   *   handed, never what is kept
   */
  constructor(
    private readonly limit: number,
    private readonly copy: (v: V) => V = (v) => v,
  ) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    return v === undefined ? undefined : this.copy(v);
  }

  set(key: string, v: V): void {
    this.map.set(key, this.copy(v));
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
  }

  /** The entries, as plain data, for another thread to take (`keep`). */
  entries(): [string, V][] {
    return [...this.map];
  }

  keep(entries: readonly [string, V][]): void {
    for (const [k, v] of entries) this.set(k, v);
  }
}

/** Copies a kept byte string in and out (the callers wipe secrets they were handed). */
export const copyBytes = (b: Uint8Array): Uint8Array => b.slice();

/**
 * A key naming inputs: `label` (algorithm names, in clear) and the SHA-256 of `parts`, each
 * length-prefixed so that no two different lists of parts hash alike.
 */
export function keptKey(label: string, ...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  for (const p of parts) {
    len.writeUInt32BE(p.length);
    h.update(len);
    h.update(p);
  }
  return `${label} ${h.digest('base64')}`;
}
