/**
 * The TSM flavours a world can choose (SYSTEM.md section 3, "TSM firmware"), by name. Each
 * is a folder with the same shape (state.ts, status.ts, host-abi.ts, guest-abi.ts,
 * index.ts) and one object { name, create, host, guest, views, halted, dmaFault }: the
 * vendor records it starts with, its host and guest ABI tables by real call name, what the
 * fabric asks of its records, whether a VM can run no more (why, or undefined), and what it
 * makes of a T=1 DMA the fabric refused (switch droppedDma). A fourth flavour is one more
 * folder and one more line here.
 */
import { ccaFlavour } from './cca/index.ts';
import { sevFlavour } from './sev/index.ts';
import { tdxFlavour } from './tdx/index.ts';

export const FLAVOURS = {
  tdx: tdxFlavour,
  sev: sevFlavour,
  cca: ccaFlavour,
} as const;

export type FlavourName = keyof typeof FLAVOURS;
