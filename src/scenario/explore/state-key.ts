/**
 * The key the explorer keeps visited states by: a digest of the whole world snapshot but
 * what never changes once the world is built (world/snapshot.ts keyView: the config-space
 * reset images).
 * It is the V8 serialisation, not world/hash.ts's canonical encoding: ten times faster, and
 * what it loses (two equal states whose Maps were filled in another order get two keys) costs
 * only a state explored twice, never one missed. V8's own serializer, not node's
 * `serialize`, which hands every typed array to JavaScript: a third less time per key.
 */
import { createHash } from 'node:crypto';
import { Serializer } from 'node:v8';
import { keyView } from '../../world/snapshot.ts';
import type { WorldSnapshot } from '../../world/world.ts';

export function stateKey(s: WorldSnapshot, extra = ''): string {
  const view = { ...s, platform: keyView(s.platform) };
  const ser = new Serializer();
  ser.writeHeader();
  ser.writeValue(view);
  return createHash('sha1').update(ser.releaseBuffer()).update(extra).digest('base64');
}
