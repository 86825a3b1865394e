/**
 * spdm-emu's requester APP step (spdm_requester_emu with its default flags, do_app_session_via_spdm)
 * against teeio's device in process, with the exact request bytes spdm-emu sends written out
 * from its source as hex literals: over PCI DOE the CXL_IDE_KM setup (cxl_ide_km_req_*.c),
 * CXL TSP on the primary session (cxl_tsp_req_*.c) and the CXL_IDE_KM teardown, each a
 * VENDOR_DEFINED_REQUEST with StandardID 3, VendorID 0x1E98 (98 1E); over MCTP the PLDM
 * GetTID (pldm_req_control_get_tid.c) as an MCTP message of type 0x01 in the session. The
 * responses are checked against the bytes and fields spdm-emu's requester checks, and a
 * device without CXL answers the CXL request with SPDM ERROR UnsupportedRequest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import type { DeviceProfile } from '../../../src/device/pci/profile.ts';
import { nic, SPDM_EMU_BUS, spdmEmu } from '../../../src/device/profiles/index.ts';
import { protect, unprotect } from '../../../src/spdm/session.ts';
import { fromHex, toHex } from '../../../src/wire/hex.ts';
import type { SecuredBinding } from '../../../src/wire/secured.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';
import {
  certificateChain,
  establishedSession,
  sampleIdentity,
  vca,
} from '../../spdm/responder-support.ts';
import { ScriptedRequester } from '../../spdm/scripted-requester.ts';

const z = (n: number) => '00'.repeat(n);
/** SPDM 1.3 VENDOR_DEFINED_REQUEST | reserved | StandardID 3 | Len 2 | VendorID 98 1E. */
const VDM_REQ = '13fe0000' + '0300' + '02' + '981e';
const VDM_RSP = '137e0000' + '0300' + '02' + '981e';
const le16 = (n: number) =>
  (n & 0xff).toString(16).padStart(2, '0') + (n >>> 8).toString(16).padStart(2, '0');
/** A CXL vendor-defined request or response around ProtocolID `p` and message `m` (hex). */
const cxlReq = (p: string, m: string) => `${VDM_REQ}${le16(1 + m.length / 2)}${p}${m}`;
const cxlRsp = (p: string, m: string) => `${VDM_RSP}${le16(1 + m.length / 2)}${p}${m}`;

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
/** iv[0] = 0x80000000, iv[1] = 0, iv[2] = 1 (cxl_ide_km_process_session_message_setup). */
const IV = '000000800000000001000000';
const ENTRIES = `${z(8)}00${z(7)}${`${z(8)}ff${z(7)}`.repeat(7)}`;
const CONFIG_HEAD = `0100${'02000000'}${z(4)}1600${z(2)}${z(4)}${z(4)}0100${z(2)}${z(4)}${z(4)}`;
const TE_RANGE = `0000100000000000${'0000010000000000'}`;

/** The CXL part of spdm-emu's pci_doe_process_session_message, request and expected answer. */
const CXL_FLOW: { step: string; req: string; rsp: string | RegExp }[] = [
  // cxl_ide_km_query(port 0): ObjectID 00 | reserved | PortIndex 0 (the 15-byte request).
  {
    step: 'CXL_IDE_KM QUERY',
    req: cxlReq('00', '000000'),
    // QUERY_RESP: port 0 | dev/func 00 bus be (the DSM function) | segment 0 |
    // MaxPortIndex 0 | Caps 0x71 | CXL IDE Capability Structure (9 dwords).
    rsp: cxlRsp('00', ['010000', '00be00', '0071', `07004000${z(4)}44000000${z(24)}`].join('')),
  },
  // Caps has IV_GEN | KEY_GEN: cxl_ide_km_get_key(stream 0, KSS CXL, port 0).
  {
    step: 'CXL_IDE_KM GETKEY',
    req: cxlReq('00', '07000000008000'),
    // GETKEY_ACK: the request's fields, a generated key, an IV whose first dword is 0x80000000.
    rsp: new RegExp(`^${VDM_RSP}3400${'00'}08000000008000[0-9a-f]{64}00000080[0-9a-f]{16}$`),
  },
  // KEY_PROG RX with the key and IV (initial IV: KSS 0x80).
  {
    step: 'CXL_IDE_KM KEY_PROG RX',
    req: cxlReq('00', `02000000008000${KEY}${IV}`),
    rsp: cxlRsp('00', '03000000008000'),
  },
  {
    step: 'CXL_IDE_KM KEY_PROG TX',
    req: cxlReq('00', `02000000008200${KEY}${IV}`),
    rsp: cxlRsp('00', '03000000008200'),
  },
  // K_SET_GO RX / TX in Skid mode.
  {
    step: 'CXL_IDE_KM K_SET_GO RX',
    req: cxlReq('00', '04000000008000'),
    rsp: cxlRsp('00', '06000000008000'),
  },
  {
    step: 'CXL_IDE_KM K_SET_GO TX',
    req: cxlReq('00', '04000000008200'),
    rsp: cxlRsp('00', '06000000008200'),
  },
  // cxl_tsp_process_session_message(PRIMARY), ProtocolID 1.
  {
    step: 'TSP GET_TARGET_TSP_VERSION',
    req: cxlReq('01', '10810000'),
    rsp: cxlRsp('01', '100100000110'),
  },
  {
    step: 'TSP GET_TARGET_CAPABILITIES',
    req: cxlReq('01', '10820000'),
    rsp: cxlRsp(
      '01',
      `10020100020000000000${z(2)}1600${z(2)}${z(4)}010000000100${z(2)}${z(4)}00${z(0x13)}`,
    ),
  },
  {
    step: 'TSP SET_TARGET_CONFIGURATION',
    req: cxlReq(
      '01',
      `1083${CONFIG_HEAD}${z(12)}${ENTRIES}${z(16)}0000${z(14)}00${z(15)}${z(128)}`,
    ),
    rsp: cxlRsp('01', '10030000'),
  },
  {
    step: 'TSP GET_TARGET_CONFIGURATION',
    req: cxlReq('01', '10840000'),
    rsp: cxlRsp('01', `1004${CONFIG_HEAD}00${z(11)}${ENTRIES}${z(16)}`),
  },
  {
    // Offset 0, Length LIBCXLTSP_CONFIGURATION_REPORT_PORTION_LEN 0x200: the whole 220 bytes.
    step: 'TSP GET_TARGET_CONFIGURATION_REPORT',
    req: cxlReq('01', '1085000000000002'),
    // PortionLength 0xDC, RemainderLength 0 | ValidTSPReportFields 1 | zero DVSECs and
    // capability structures | the CXL IDE Capability Structure, Rx and Tx Active Skid (0x22).
    rsp: cxlRsp('01', `10050000dc000000${'01000000'}${z(216 - 36)}07004000${z(4)}22000000${z(24)}`),
  },
  {
    step: 'TSP LOCK_TARGET_CONFIGURATION',
    req: cxlReq('01', '10860000'),
    rsp: cxlRsp('01', '10060000'),
  },
  {
    step: 'TSP GET_TARGET_CONFIGURATION (locked)',
    req: cxlReq('01', '10840000'),
    rsp: cxlRsp('01', `1004${CONFIG_HEAD}01${z(11)}${ENTRIES}${z(16)}`),
  },
  {
    // te_state 1 over [0x100000, +0x10000), then 0.
    step: 'TSP SET_TARGET_TE_STATE 1',
    req: cxlReq('01', `108d0101${z(12)}${TE_RANGE}`),
    rsp: cxlRsp('01', '100d0000'),
  },
  {
    step: 'TSP SET_TARGET_TE_STATE 0',
    req: cxlReq('01', `108d0001${z(12)}${TE_RANGE}`),
    rsp: cxlRsp('01', '100d0000'),
  },
  // Caps has K_SET_STOP_CAP: cxl_ide_km_process_session_message_teardown.
  {
    step: 'CXL_IDE_KM K_SET_STOP RX',
    req: cxlReq('00', '05000000008000'),
    rsp: cxlRsp('00', '06000000008000'),
  },
  {
    step: 'CXL_IDE_KM K_SET_STOP TX',
    req: cxlReq('00', '05000000008200'),
    rsp: cxlRsp('00', '06000000008200'),
  },
];

async function session(profile: DeviceProfile, binding: SecuredBinding) {
  const id = sampleIdentity();
  const dev = await createTdispDevice({
    profile,
    bus: SPDM_EMU_BUS,
    behaviour: 'spdm-emu',
    identity: { certChain: id.certificates, privateKey: id.privateKey },
    random: seededRandom(`app-flow-${binding}`),
  });
  const r = new ScriptedRequester(dev.newResponder(binding), binding);
  vca(r);
  return { dev, r, x: establishedSession(r, certificateChain(r)) };
}

describe("spdm-emu's APP step against teeio device --profile spdm-emu", () => {
  it('pci_doe: CXL_IDE_KM setup, CXL TSP, CXL_IDE_KM teardown, byte for byte', async () => {
    const { dev, r, x } = await session(spdmEmu, 'pci_doe');
    for (const { step, req, rsp } of CXL_FLOW) {
      const out = r.sendSecuredRaw(x.s, fromHex(req));
      assert.ok(out, `${step}: no answer`);
      if (typeof rsp === 'string') assert.equal(toHex(out), rsp, step);
      else assert.match(toHex(out), rsp, step);
    }
    // The flow left the CXL IDE keys erased and the TSP target locked, no TE ranges.
    assert.deepEqual(dev.dsm.state.cxlIdeKm, { ports: {} });
    assert.equal(dev.dsm.state.cxlTsp.state, 'CONFIG_LOCKED');
    assert.deepEqual(dev.dsm.state.cxlTsp.teRanges, []);
  });

  it('mctp: PLDM GetTID inside the session is answered with SUCCESS and a TID', async () => {
    const { r, x } = await session(spdmEmu, 'mctp');
    // pldm_control_get_tid: Rq=1 instance 0 | Hdr Ver 0, type 0 (control) | GetTID (0x02),
    // as an MCTP message of type 0x01 (PLDM) in the secured message.
    const sealed = protect(x.s.secured, fromHex('800002'), seededRandom('pldm'), {
      mctpType: 0x01,
    });
    x.s.secured = sealed.session;
    const out = r.responder.handle({ secured: true, bytes: sealed.record });
    assert.ok(out?.secured);
    const opened = unprotect(x.s.secured, out.bytes);
    assert.equal(opened.mctpType, 0x01, 'the answer is a PLDM message');
    // Rq=0 instance 0 | type 0 | GetTID | completion SUCCESS | TID 1.
    assert.equal(toHex(opened.message), '0000020001');
  });

  it('a device without CXL answers the CXL_IDE_KM QUERY with SPDM ERROR UnsupportedRequest', async () => {
    const { r, x } = await session(nic, 'pci_doe');
    // ERROR 0x7F | UnsupportedRequest 0x07 | ErrorData = the request code 0xFE.
    assert.equal(
      toHex(r.sendSecuredRaw(x.s, fromHex(CXL_FLOW[0].req)) ?? new Uint8Array()),
      '137f07fe',
    );
  });
});
