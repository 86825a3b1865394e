/**
 * The guest kernel's accept_memory (arch/x86/coco/tdx, sev; arm64 realm): a private page the
 * host has just mapped for the guest (TDH.MEM.PAGE.AUG, RMPUPDATE) is usable only once the
 * guest accepted it: TDX TDG.MEM.PAGE.ACCEPT, SEV PVALIDATE, CCA RSI_IPA_STATE_SET to
 * RIPAS_RAM (a page the host added with RMI_DATA_CREATE_UNKNOWN after activation). A page
 * the guest can read already is left as it is.
 */
import type { GuestMachine } from './machine.ts';
import type { GuestEvent } from './outcome.ts';

const PAGE_SHIFT = 12n;

/** Accepts `pages` private pages at `gpa`; the calls' events. */
export async function acceptMemory(
  m: GuestMachine,
  gpa: bigint,
  pages: number,
): Promise<GuestEvent[]> {
  const events: GuestEvent[] = [];
  for (let i = 0n; i < BigInt(pages); i++) {
    const page = gpa + (i << PAGE_SHIFT);
    if (m.memRead(page, 1)) continue;
    if (m.flavour === 'tdx') {
      events.push(...(await m.tsmCall('TDG.MEM.PAGE.ACCEPT', { gfn: page >> PAGE_SHIFT })).events);
    } else if (m.flavour === 'sev') {
      events.push(...(await m.tsmCall('PVALIDATE', { gpa: page, validate: true })).events);
    } else if (m.flavour === 'cca') {
      const top = page + (1n << PAGE_SHIFT);
      const args = { ipaBase: page, ipaTop: top, ripas: 'RIPAS_RAM' };
      events.push(...(await m.tsmCall('RSI_IPA_STATE_SET', args)).events);
    }
  }
  return events;
}
