/**
 * The known departures of libspdm's sample responder (DMTF spdm-emu's
 * `spdm_responder_emu` with its TDISP and IDE_KM sample libraries) from the PCIe 6.x text,
 * as listed in docs/conformance.md and reproduced by teeio's `--behaviour spdm-emu`. With
 * `--profile spdm-emu` a listed case that fails is an expected deviation, and one that
 * passes is reported as a deviation not seen (the responder got better).
 */
import type { Profile } from './profile.ts';

export const SPDM_EMU_PROFILE: Profile = {
  name: 'spdm-emu',
  description: "libspdm's sample responder (spdm-emu spdm_responder_emu)",
  deviations: [
    {
      cases: [
        'tdisp.lock.without-ide-keys',
        'tdisp.lock.keys-of-another-session',
        'ide-km.k-set.unprogrammed-key-set-not-usable',
      ],
      what: 'LOCK_INTERFACE_REQUEST is accepted before (or without) the IDE keys of the default stream',
    },
    {
      cases: ['tdisp.outside-session'],
      what: 'TDISP is answered outside a secured session',
    },
    {
      cases: ['tdisp.version.keeps-locked'],
      what: 'GET_TDISP_VERSION re-creates the interface, so a CONFIG_LOCKED TDI is back in CONFIG_UNLOCKED',
    },
    {
      cases: ['tdisp.report.mmio-reporting-offset'],
      what: 'the interface report ignores the MMIO_REPORTING_OFFSET of LOCK_INTERFACE_REQUEST',
    },
    {
      cases: ['tdisp.error.k-set-stop-in-run', 'tdisp.error.locking-session-ended'],
      what: 'the TDI never enters ERROR (K_SET_STOP of the bound stream in RUN, the locking session ending)',
    },
    {
      cases: [
        'tdisp.report.unlocked',
        'tdisp.legality.get-device-interface-report.config-unlocked',
      ],
      what: 'GET_DEVICE_INTERFACE_REPORT in CONFIG_UNLOCKED is answered with INVALID_REQUEST, not INVALID_INTERFACE_STATE',
    },
    {
      cases: ['tdisp.stop.from-config-unlocked'],
      what: 'STOP_INTERFACE_REQUEST in CONFIG_UNLOCKED is refused with INVALID_INTERFACE_STATE',
    },
    {
      cases: ['ide-km.outside-session'],
      what: 'IDE_KM is answered outside a secured session',
    },
    {
      cases: ['ide-km.key-prog.wrong-length'],
      what: 'a KEY_PROG of the wrong length gets SPDM ERROR InvalidRequest, not KP_ACK IncorrectLength',
    },
    {
      cases: ['robustness.wrong-transport-type', 'robustness.huge-size'],
      what: 'the whole server exits on a frame of the wrong transport type or a 3 GiB size announcement',
    },
  ],
};
