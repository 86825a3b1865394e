/**
 * A device shaped like the sample TDI of DMTF spdm-emu's responder, so that requesters
 * written against spdm-emu (its spdm_requester_emu, QEMU's spdm-socket users) find what
 * they expect: with `--bus 0xbe` its TDI is function 0xef, Requester ID and InterfaceID
 * 0xbeef; four MMIO ranges of 1 (non-TEE), 4, 8 and 8 pages; the 16 device-specific bytes
 * "tdisp_dev_emu". Pair it with the 'spdm-emu' DSM behaviour (IDE_KM port index 1, the
 * sample's TDISP quirks). Like the sample it also answers CXL_IDE_KM and CXL TSP.
 */
import type { DeviceProfile } from '../pci/profile.ts';

/** The bus number that gives the TDI spdm-emu's InterfaceID 0xbeef. */
export const SPDM_EMU_BUS = 0xbe;

export const spdmEmu: DeviceProfile = {
  name: 'spdm-emu',
  description: "look-alike of DMTF spdm-emu's sample TDISP device (InterfaceID 0xbeef on bus 0xbe)",
  vendorId: 0x1b36,
  deviceId: 0x7eff,
  classCode: 0x120000,
  // CXL IDE as spdm-emu's sample reports it (cxl_ide_km_device_context.c): port 0, IV and
  // key generation, K_SET_STOP; and a CXL TSP target. spdm-emu's requester runs CXL_IDE_KM
  // and CXL TSP after PCIe IDE_KM and TDISP.
  dsm: { doe: {}, ide: { selectiveStreams: 1 }, cxlIde: {}, cxlTsp: {} },
  functions: [
    { fn: 0, tdi: false, bars: [] },
    {
      fn: 0xef,
      bars: [
        { index: 1, size: 4096n },
        { index: 2, size: 16384n },
        { index: 3, size: 32768n },
        { index: 4, size: 32768n },
      ],
      nonTee: [{ bar: 1, offset: 0n, size: 4096n }],
      deviceSpecificInfo: new TextEncoder().encode('tdisp_dev_emu\0\0\0'),
    },
  ],
};
