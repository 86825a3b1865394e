/**
 * Sparse device memory behind a BAR: a Map of 4 KiB pages, allocated on first write, so a
 * 16 GiB GPU BAR costs only the pages actually touched. Pages never written read as zero.
 * Plain data (a Map of Uint8Array), so a device snapshot is a structuredClone. Canonical:
 * a page is present only while it holds a non-zero byte, so equal contents are equal Maps
 * (and hash equal) however they were written.
 */

export const PAGE_SIZE = 4096;

export type SparseMemory = Map<number, Uint8Array>;

export function newMemory(): SparseMemory {
  return new Map();
}

/** Reads `length` bytes at `offset` (caller has bounds-checked against the BAR). */
export function memRead(mem: SparseMemory, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const pos = offset + done;
    const page = Math.floor(pos / PAGE_SIZE);
    const inPage = pos % PAGE_SIZE;
    const n = Math.min(length - done, PAGE_SIZE - inPage);
    const p = mem.get(page);
    if (p) out.set(p.subarray(inPage, inPage + n), done);
    done += n;
  }
  return out;
}

const allZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Writes `data` at `offset`, allocating pages as needed and dropping pages left all zero. */
export function memWrite(mem: SparseMemory, offset: number, data: Uint8Array): void {
  const zeroes = allZero(data);
  let done = 0;
  while (done < data.length) {
    const pos = offset + done;
    const page = Math.floor(pos / PAGE_SIZE);
    const inPage = pos % PAGE_SIZE;
    const n = Math.min(data.length - done, PAGE_SIZE - inPage);
    let p = mem.get(page);
    if (!p && !zeroes) {
      p = new Uint8Array(PAGE_SIZE);
      mem.set(page, p);
    }
    if (p) {
      p.set(data.subarray(done, done + n), inPage);
      // Only a write of zeroes can leave a page all zero.
      if (zeroes && allZero(p)) mem.delete(page);
    }
    done += n;
  }
}

/** Zeroes everything: dropping the pages is the zeroing, nothing old stays reachable. */
export function memZero(mem: SparseMemory): void {
  mem.clear();
}
