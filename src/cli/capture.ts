/**
 * `--pcap FILE` and `--keylog FILE`, the same for every command that moves SPDM (device,
 * responder, requester, run): every binding payload a transport's tap sees goes into one
 * pcap (wire/pcap.ts: LINKTYPE_PCI_DOE 292 for DOE objects, LINKTYPE_MCTP 291 for MCTP
 * messages behind spdm-emu's 4-byte transport header), stamped with the wall clock in
 * microseconds, and every session's secrets into one key log (spdm/keylog.ts), so
 * `teeio decode FILE --keylog KEYS` (or DMTF's dump tool with the logged DHE secret) can
 * decrypt the secured records. docs/captures.md describes both files.
 *
 * Files are written synchronously record by record, so a server stopped by a signal leaves
 * whole records behind. The key log is created with mode 0600 and appended to.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { KeylogCollector, type SessionSecretsSink } from '../spdm/keylog.ts';
import type { Binding, WireTap } from '../transport/types.ts';
import { LINKTYPE_MCTP, LINKTYPE_PCI_DOE, PcapWriter } from '../wire/pcap.ts';

export interface CaptureCliOptions {
  pcap?: string;
  keylog?: string;
}

/** Adds --pcap and --keylog to a command. */
export function addCaptureOptions(cmd: Command): Command {
  return cmd
    .option(
      '--pcap <file>',
      'write the SPDM traffic as a pcap (PCI DOE: link type 292, MCTP: 291; docs/captures.md)',
    )
    .option(
      '--keylog <file>',
      "append each secured session's secrets to FILE, for teeio decode (whoever has it can decrypt)",
    );
}

/** The link type of a binding's packets. */
export function linkTypeOf(binding: Binding): number {
  return binding === 'pci_doe' ? LINKTYPE_PCI_DOE : LINKTYPE_MCTP;
}

/** Wall-clock microseconds since the epoch, finer than Date.now(). */
export function wallClockUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** An open capture: the tap for transports, the sink for engines, and how to close. */
export interface Capture {
  /** For a transport's `onWire`; undefined without --pcap. */
  readonly tap: WireTap | undefined;
  /** For an engine configuration's `onSessionSecrets`; undefined without --keylog. */
  readonly onSessionSecrets: SessionSecretsSink | undefined;
  /** Packets written so far. */
  readonly packets: number;
  /** Writes the key log lines still pending and closes both files (idempotent). */
  close(): void;
}

/**
 * Opens the files the options name (truncating the pcap, appending to the key log).
 * `stamp` gives each packet's time in microseconds (default: the wall clock).
 * @throws the system error of a file that cannot be opened.
 */
export function openCapture(
  o: CaptureCliOptions,
  binding: Binding,
  stamp: () => number = wallClockUs,
): Capture {
  const pcapFd = o.pcap === undefined ? undefined : openSync(o.pcap, 'w');
  let keylogFd: number | undefined;
  try {
    keylogFd = o.keylog === undefined ? undefined : openSync(o.keylog, 'a', 0o600);
  } catch (e) {
    if (pcapFd !== undefined) closeSync(pcapFd);
    throw e;
  }
  let packets = 0;
  let closed = false;
  const writer =
    pcapFd === undefined
      ? undefined
      : new PcapWriter(linkTypeOf(binding), (chunk) => {
          if (!closed) writeSync(pcapFd, chunk);
        });
  const keylog =
    keylogFd === undefined
      ? undefined
      : new KeylogCollector((line) => {
          if (!closed) writeSync(keylogFd, line);
        });
  return {
    tap: writer
      ? (e) => {
          if (e.binding !== binding) return;
          writer.writePayload(e.payload, stamp());
          packets++;
        }
      : undefined,
    onSessionSecrets: keylog?.onSecrets,
    get packets() {
      return packets;
    },
    close() {
      if (closed) return;
      keylog?.flush();
      closed = true;
      if (pcapFd !== undefined) closeSync(pcapFd);
      if (keylogFd !== undefined) closeSync(keylogFd);
    },
  };
}
