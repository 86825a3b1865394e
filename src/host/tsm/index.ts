/**
 * The TSM host drivers by flavour: the platform's TSM driver the PCI/TSM core registers
 * (tsm_register). One line per flavour; a fourth flavour adds its driver file and a line.
 */
import type { HostMachine } from '../machine.ts';
import { ccaTsmDriver } from './cca/index.ts';
import type { TsmHostDriver } from './driver.ts';
import { sevTsmDriver } from './sev/index.ts';
import { tdxTsmDriver } from './tdx/index.ts';

const DRIVERS: Readonly<Record<string, TsmHostDriver>> = {
  cca: ccaTsmDriver,
  sev: sevTsmDriver,
  tdx: tdxTsmDriver,
};

/** The driver for the machine's TSM, or undefined when no driver knows the flavour. */
export function tsmDriver(m: HostMachine): TsmHostDriver | undefined {
  return DRIVERS[m.flavour];
}
