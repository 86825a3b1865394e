/**
 * The key the explorer keeps visited states by: a digest of the whole world snapshot but
 * what never changes once the world is built (world/snapshot.ts keyView: the config-space
 * reset images).
 *
 * The encoding is the explorer's own, not V8's serializer: V8 writes a number as a tagged
 * integer or as a double depending on how the engine holds it at that moment (a field of an
 * object shape that once held a fraction holds every later value as a double), so one state
 * got several keys depending on the path and the time that built it, and a search's count
 * of states depended on which steps the stepper happened to keep (a timing decision). Here
 * a number is its decimal text. It is not canonical in order (two equal states whose Maps
 * were filled in another order get two keys): that costs only a state explored twice,
 * never one missed. Bytes go to the digest as they are, not through a string.
 */
import { createHash } from 'node:crypto';
import { keyView } from '../../world/snapshot.ts';
import type { WorldSnapshot } from '../../world/world.ts';

export function stateKey(s: WorldSnapshot, extra = ''): string {
  const e: Encoding = { text: [], bytes: [], seen: new Map() };
  encode({ ...s, platform: keyView(s.platform) }, e);
  const h = createHash('sha1').update(e.text.join('\u0001')).update(extra);
  for (const b of e.bytes) h.update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  return h.digest('base64');
}

interface Encoding {
  text: string[];
  /** Typed arrays' contents, in the order the text names them. */
  bytes: ArrayBufferView[];
  /** Objects met so far, by their order of meeting (an object reached twice is named). */
  seen: Map<object, number>;
}

function encode(x: unknown, e: Encoding): void {
  switch (typeof x) {
    case 'number':
      e.text.push(`n${x}`);
      return;
    case 'string':
      e.text.push(`s${x.length}:${x}`);
      return;
    case 'bigint':
      e.text.push(`b${x}`);
      return;
    case 'boolean':
      e.text.push(x ? 't' : 'f');
      return;
    case 'undefined':
      e.text.push('u');
      return;
    case 'symbol':
    case 'function':
      throw new TypeError(`a world snapshot holds a ${typeof x}`);
  }
  if (x === null || typeof x !== 'object') {
    e.text.push('z');
    return;
  }
  const again = e.seen.get(x);
  if (again !== undefined) {
    e.text.push(`r${again}`);
    return;
  }
  e.seen.set(x, e.seen.size);
  if (ArrayBuffer.isView(x)) {
    e.text.push(`y${x.constructor.name}${x.byteLength}`);
    e.bytes.push(x);
  } else if (Array.isArray(x)) {
    e.text.push(`a${x.length}`);
    for (const v of x) encode(v, e);
  } else if (x instanceof Map) {
    e.text.push(`m${x.size}`);
    for (const [k, v] of x) {
      encode(k, e);
      encode(v, e);
    }
  } else if (x instanceof Set) {
    e.text.push(`e${x.size}`);
    for (const v of x) encode(v, e);
  } else {
    e.text.push('{');
    for (const k in x) {
      e.text.push(k);
      encode((x as Record<string, unknown>)[k], e);
    }
    e.text.push('}');
  }
}
