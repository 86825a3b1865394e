/**
 * The TDX flavour's SPDM, IDE stream, TD and DEVIF calls against teeio's NIC: each call's
 * success path and each documented refusal (intel/tdx-module tdxio handlers), the TDISP
 * request rules (the host only LOCK / GET_STATE / STOP, the TD only GET_REPORT / GET_STATE /
 * START, in ERROR the TD only reads state), and the report TDX Connect refuses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import * as regs from '../../../src/device/pci/regs.ts';
import {
  tdgDevifRd,
  tdgDevifRequest,
  tdgDevifResponse,
  tdgDevifValidate,
  tdgDmarAccept,
  tdgTdiStart,
} from '../../../src/platform/tdx/guest-abi.ts';
import {
  TDX_HOST_ABI,
  tdhDevifCreate,
  tdhDevifRequest,
  tdhDevifResponse,
  tdhIdeStreamBlock,
  tdhIdeStreamCreate,
  tdhIdeStreamDelete,
  tdhMngCreate,
  tdhSpdmConnect,
  tdhSpdmCreate,
  tdhSpdmDelete,
  tdhSpdmDisconnect,
} from '../../../src/platform/tdx/host-abi.ts';
import {
  tdhDmarAdd,
  tdhDmarBlock,
  tdhDmarRemove,
  tdhMmiomtAdd,
  tdhMmiomtRd,
  tdhMmiomtRemove,
  tdhMmiomtSet,
} from '../../../src/platform/tdx/host-mappings.ts';
import { reportRefusal } from '../../../src/platform/tdx/report-policy.ts';
import { LOCK_INTERFACE_FLAGS } from '../../../src/wire/tdisp/constants.ts';
import type { InterfaceReport } from '../../../src/wire/tdisp/report.ts';
import type { RequesterTransport } from '../../../src/wire/transport.ts';
import {
  devInfoHash,
  hostRequest,
  ok,
  refused,
  STREAM,
  TD,
  tdRequest,
  tdxWorld,
  withDevif,
} from './world.ts';

describe('TDX: SPDM object, IDE stream and connect', () => {
  it('creates, connects, refuses out of order, and tears down', async () => {
    const w = await tdxWorld('tdx spdm');
    const { p, env, carrier, device } = w;
    await refused(p, 'TDX_SPDM_ENTRY_NOT_PRESENT', () =>
      tdhSpdmConnect(p, env, { device }, carrier),
    );
    await refused(p, 'TDX_SPDM_ENTRY_NOT_PRESENT', () =>
      tdhIdeStreamCreate(p, env, { device, streamId: STREAM }),
    );
    ok(tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 }));
    await refused(p, 'TDX_SPDM_ENTRY_ALREADY_PRESENT', () =>
      tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 1 }),
    );
    await refused(p, 'TDX_IDE_STREAM_NOT_CONFIGURED', () =>
      tdhSpdmConnect(p, env, { device }, carrier),
    );
    ok(tdhIdeStreamCreate(p, env, { device, streamId: STREAM }));
    await refused(p, 'TDX_IDE_STREAM_NOT_FREE', () =>
      tdhIdeStreamCreate(p, env, { device, streamId: 1 }),
    );
    ok(tdhMngCreate(p, env, { td: TD }));
    await refused(p, 'TDX_IDE_STREAM_INVALID_STATE', () =>
      tdhDevifCreate(p, env, { functionId: w.functionId, device, td: TD }),
    );
    await refused(p, 'TDX_IDE_STREAM_INVALID_STATE', () =>
      tdhIdeStreamBlock(p, env, { device, streamId: STREAM }),
    );
    await refused(p, 'TDX_OPERAND_INVALID', () => tdhSpdmConnect(p, env, { device }));

    const c = ok(await tdhSpdmConnect(p, env, { device }, carrier));
    assert.equal(c.streamId, STREAM);
    assert.equal(p.tsm.devices.get(device)?.phase, 'connected');
    assert.equal(p.tsm.devices.get(device)?.stream?.state, 'secure');
    assert.equal(p.vendor.streams.get(device)?.state, 'active');
    await refused(p, 'TDX_SPDM_INVALID_STATE', () => tdhSpdmConnect(p, env, { device }, carrier));
    await refused(p, 'TDX_IDE_STREAM_NOT_BLOCKED', () =>
      tdhIdeStreamDelete(p, env, { device, streamId: STREAM }),
    );
    await refused(p, 'TDX_SPDM_HAS_ACTIVE_IDE_STREAMS', () => tdhSpdmDelete(p, env, { device }));

    ok(tdhDevifCreate(p, env, { functionId: w.functionId, device, td: TD }));
    await refused(p, 'TDX_DEVIFMT_ALREADY_PRESENT', () =>
      tdhDevifCreate(p, env, { functionId: w.functionId, device, td: TD }),
    );
    await refused(p, 'TDX_IDE_STREAM_HAS_DEVICE_INTERFACES', () =>
      tdhSpdmDisconnect(p, env, { device }, carrier),
    );

    ok(tdhIdeStreamBlock(p, env, { device, streamId: STREAM }));
    await refused(p, 'TDX_IDE_STREAM_BLOCKED', () =>
      tdhIdeStreamBlock(p, env, { device, streamId: STREAM }),
    );
    await refused(p, 'TDX_IDE_STREAM_HAS_DEVICE_INTERFACES', () =>
      tdhIdeStreamDelete(p, env, { device, streamId: STREAM }),
    );
  });

  it('DEVIF.CREATE needs a TD, and leaves nothing behind when it cannot bind', async () => {
    const w = await tdxWorld('tdx devif create');
    const { p, env, carrier, device, functionId } = w;
    ok(tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 }));
    ok(tdhIdeStreamCreate(p, env, { device, streamId: STREAM }));
    ok(await tdhSpdmConnect(p, env, { device }, carrier));
    await refused(p, 'TDX_OPERAND_INVALID', () =>
      tdhDevifCreate(p, env, { functionId, device, td: 'nobody' }),
    );
    assert.equal(p.tsm.tdis.size, 0);
  });

  it('a stream with no DEVIF is blocked, deleted, and the device disconnected and deleted', async () => {
    const w = await tdxWorld('tdx teardown');
    const { p, env, carrier, device } = w;
    ok(tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 }));
    ok(tdhIdeStreamCreate(p, env, { device, streamId: STREAM }));
    ok(await tdhSpdmConnect(p, env, { device }, carrier));
    ok(tdhIdeStreamBlock(p, env, { device, streamId: STREAM }));
    ok(tdhIdeStreamDelete(p, env, { device, streamId: STREAM }));
    await refused(p, 'TDX_IDE_STREAM_NOT_CONFIGURED', () =>
      tdhIdeStreamDelete(p, env, { device, streamId: STREAM }),
    );
    ok(await tdhSpdmDisconnect(p, env, { device }, carrier));
    assert.equal(p.tsm.devices.get(device)?.phase, 'disconnected');
    ok(tdhSpdmDelete(p, env, { device }));
    assert.equal(p.tsm.devices.size, 0);
    assert.equal(p.vendor.spdm.size, 0);
    assert.equal(p.tsm.links.size, 0);
  });
});

describe('TDX: TDISP requests through the DEVIF', () => {
  it('host LOCK, TD report, TD START, with each side refused what is not its own', async () => {
    const w = await tdxWorld('tdx tdisp');
    const { p, env, carrier, functionId, device } = w;
    await withDevif(w);
    const rid = w.tdi.requesterId;

    // The host may not START or fetch the report; the TD may not LOCK or STOP.
    for (const request of ['START_INTERFACE_REQUEST', 'GET_DEVICE_INTERFACE_REPORT'] as const) {
      await refused(p, 'TDX_OPERAND_INVALID', () =>
        tdhDevifRequest(p, env, { functionId, request }),
      );
    }
    for (const request of ['LOCK_INTERFACE_REQUEST', 'STOP_INTERFACE_REQUEST'] as const) {
      await refused(p, 'TDX_OPERAND_INVALID', () =>
        tdgDevifRequest(p, env, { td: TD, functionId, request }),
      );
    }
    // Operand checks of TDH.DEVIF.REQUEST.
    await refused(p, 'TDX_OPERAND_INVALID', () =>
      tdhDevifRequest(p, env, { functionId, request: 'GET_DEVICE_INTERFACE_STATE', td: true }),
    );
    await refused(p, 'TDX_OPERAND_INVALID', () =>
      tdhDevifRequest(p, env, {
        functionId,
        request: 'GET_DEVICE_INTERFACE_STATE',
        noFwUpdate: true,
      }),
    );
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_REQ_STS', () =>
      tdhDevifRequest(p, env, { functionId, td: true }),
    );
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_REQ_STS', () =>
      tdhDevifResponse(p, env, { functionId }, carrier),
    );
    await refused(p, 'TDX_DEVIFMT_NOT_PRESENT', () =>
      tdhDevifRequest(p, env, { functionId: device, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    // Another TD cannot reach this DEVIF.
    ok(tdhMngCreate(p, env, { td: 'td2' }));
    await refused(p, 'TDX_DEVIF_INVALID_METADATA', () =>
      tdgDevifRequest(p, env, { td: 'td2', functionId, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    await refused(p, 'TDX_DEVIF_INVALID_METADATA', () =>
      tdgDevifRd(p, env, { td: 'td2', functionId }),
    );

    // LOCK: one request outstanding at a time; the response needs the carrier.
    const g = ok(
      tdhDevifRequest(p, env, { functionId, request: 'LOCK_INTERFACE_REQUEST', noFwUpdate: true }),
    );
    assert.equal(g.request, 'LOCK_INTERFACE_REQUEST');
    await refused(p, 'TDX_DEVIF_TDISP_OUT_REQ', () =>
      tdhDevifRequest(p, env, { functionId, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    await refused(p, 'TDX_OPERAND_INVALID', () => tdhDevifResponse(p, env, { functionId }));
    ok(await tdhDevifResponse(p, env, { functionId }, carrier));
    assert.equal(p.tsm.tdis.get(rid)?.state, 'CONFIG_LOCKED');
    assert.equal(p.vendor.devifs.get(rid)?.outstanding, undefined);

    // The host reads the state; only the host learns it this way.
    const st = ok(await hostRequest(w, 'GET_DEVICE_INTERFACE_STATE'));
    assert.deepEqual(st, { request: 'GET_DEVICE_INTERFACE_STATE', state: 'CONFIG_LOCKED' });

    // START before the TD has the report: the core refuses it, the TD reads why.
    const early = await tdRequest(w, 'START_INTERFACE_REQUEST');
    assert.equal(early.status, 'TDX_DEVIF_INVALID_STATE');
    assert.equal(p.tsm.tdis.get(rid)?.state, 'CONFIG_LOCKED');

    // The TD's request waits for the host; a second one is refused meanwhile.
    ok(tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_REPORT' }));
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_REQ_STS', () =>
      tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_REQ_STS', () =>
      tdgDevifResponse(p, env, { td: TD, functionId }),
    );
    ok(tdhDevifRequest(p, env, { functionId, td: true }));
    const carried = ok(await tdhDevifResponse(p, env, { functionId }, carrier));
    assert.deepEqual(
      carried,
      { request: 'GET_DEVICE_INTERFACE_REPORT' },
      'the host gets no report',
    );
    const rep = ok(tdgDevifResponse(p, env, { td: TD, functionId }));
    const bytes = rep.value as Uint8Array;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // INTERFACE_INFO: NO_UPDATE_AFTER_LOCK (the host asked NO_FW_UPDATE) and DMA without PASID.
    assert.equal(dv.getUint16(0, true), 0x1 | 0x2);
    assert.equal(dv.getUint16(4, true), 0, 'MSI_X_MESSAGE_CONTROL: the LOCK did not lock MSI-X');
    assert.equal(dv.getUint32(8, true), 0, 'TPH_CONTROL');

    const info = ok(tdgDevifRd(p, env, { td: TD, functionId }));
    assert.equal(info.state, 'CONFIG_LOCKED');
    assert.equal(info.valid, true);
    assert.deepEqual(info.report, bytes);
    assert.ok(info.ranges.length > 0);

    // TDG.TDI.START: LOCKED -> RUN.
    ok(tdgTdiStart(p, env, { td: TD, functionId }));
    ok(tdhDevifRequest(p, env, { functionId, td: true }));
    ok(await tdhDevifResponse(p, env, { functionId }, carrier));
    const started = ok(tdgDevifResponse(p, env, { td: TD, functionId }));
    assert.deepEqual(started, { request: 'START_INTERFACE_REQUEST' });
    assert.equal(p.tsm.tdis.get(rid)?.state, 'RUN');
    const s = ok(await tdRequest(w, 'GET_DEVICE_INTERFACE_STATE'));
    assert.equal(s?.value, 'RUN');

    // The tables call the same functions by their leaf names.
    const viaTable = await TDX_HOST_ABI['TDH.DEVIF.REQUEST'](p, env, {
      functionId,
      request: 'GET_DEVICE_INTERFACE_STATE',
    });
    assert.equal(viaTable.status, 'TDX_SUCCESS');
    assert.deepEqual(viaTable.events.at(-1), {
      kind: 'abi',
      domain: 'host',
      flavour: 'tdx',
      call: 'TDH.DEVIF.REQUEST',
      args: { functionId, request: 'GET_DEVICE_INTERFACE_STATE' },
      status: 'TDX_SUCCESS',
      ok: true,
    });
  });

  it('in ERROR the TD may only read the state; the host may read it and STOP', async () => {
    const w = await tdxWorld('tdx error');
    const { p, env, functionId, dev, tdi } = w;
    await withDevif(w);
    const validate = () =>
      tdgDevifValidate(p, env, { td: TD, functionId, devInfoHash: devInfoHash(dev) });
    ok(await hostRequest(w, 'LOCK_INTERFACE_REQUEST'));
    // Clearing Bus Master Enable of a locked TDI is an ERROR trigger (TDISP).
    const cmd = dev.device.configRead(tdi.fn, regs.PCI_COMMAND, 2);
    dev.device.configWrite(tdi.fn, regs.PCI_COMMAND, 2, cmd & ~regs.PCI_COMMAND_MASTER);
    const s = ok(await tdRequest(w, 'GET_DEVICE_INTERFACE_STATE'));
    assert.equal(s?.value, 'ERROR');
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.state, 'ERROR');
    // Finding ERROR leaves the DEVIF invalid: the TD's next request is refused for that first.
    assert.equal(ok(tdgDevifRd(p, env, { td: TD, functionId })).valid, false);
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () => tdgTdiStart(p, env, { td: TD, functionId }));

    // Validated again, the DEVIF still refuses all but the state while the TDI is in ERROR.
    ok(validate());
    await refused(p, 'TDX_DEVIF_TDISP_ERROR_STATE', () =>
      tdgTdiStart(p, env, { td: TD, functionId }),
    );
    await refused(p, 'TDX_DEVIF_TDISP_ERROR_STATE', () =>
      tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_REPORT' }),
    );
    await refused(p, 'TDX_DEVIF_TDISP_ERROR_STATE', () =>
      tdhDevifRequest(p, env, { functionId, request: 'LOCK_INTERFACE_REQUEST' }),
    );
    assert.equal(ok(tdgDevifRd(p, env, { td: TD, functionId })).state, 'ERROR');
    ok(tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_STATE' }));

    // The host's STOP is the way out (its own request waits for the TD's to be carried).
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_REQ_STS', () =>
      tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    ok(tdhDevifRequest(p, env, { functionId, td: true }));
    ok(await tdhDevifResponse(p, env, { functionId }, w.carrier));
    ok(tdgDevifResponse(p, env, { td: TD, functionId }));
    ok(await hostRequest(w, 'STOP_INTERFACE_REQUEST'));
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.state, 'CONFIG_UNLOCKED');
    // After STOP the TD must validate again before it asks for anything.
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () =>
      tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    ok(validate());
  });

  it('TDG.DEVIF.VALIDATE: the device the TD expects, once', async () => {
    const w = await tdxWorld('tdx validate');
    const { p, env, functionId, dev, device, carrier } = w;
    ok(tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 }));
    ok(tdhIdeStreamCreate(p, env, { device, streamId: STREAM }));
    ok(await tdhSpdmConnect(p, env, { device }, carrier));
    ok(tdhMngCreate(p, env, { td: TD }));
    ok(tdhDevifCreate(p, env, { functionId, device, td: TD }));
    // Not validated yet: the TD can read, not ask or accept.
    assert.equal(ok(tdgDevifRd(p, env, { td: TD, functionId })).valid, false);
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () =>
      tdgDevifRequest(p, env, { td: TD, functionId, request: 'GET_DEVICE_INTERFACE_STATE' }),
    );
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () =>
      tdgDmarAccept(p, env, { td: TD, functionId }),
    );
    const wrong = `${'00'.repeat(47)}01`;
    await refused(p, 'TDX_DEVIF_PKH_MISMATCH', () =>
      tdgDevifValidate(p, env, { td: TD, functionId, devInfoHash: wrong }),
    );
    ok(tdhMngCreate(p, env, { td: 'td2' }));
    await refused(p, 'TDX_DEVIF_INVALID_METADATA', () =>
      tdgDevifValidate(p, env, { td: 'td2', functionId, devInfoHash: devInfoHash(dev) }),
    );
    ok(tdgDevifValidate(p, env, { td: TD, functionId, devInfoHash: devInfoHash(dev) }));
    const again = tdgDevifValidate(p, env, { td: TD, functionId, devInfoHash: devInfoHash(dev) });
    assert.equal(again.status, 'TDX_DEVIF_ALREADY_VALID');
    assert.equal(again.ok, true, 'a warning, not an error');
    assert.equal(ok(tdgDevifRd(p, env, { td: TD, functionId })).valid, true);
  });

  it('a report showing ATS enabled is refused; the DEVIF can then only be read or stopped', async () => {
    const w = await tdxWorld('tdx ats');
    const { p, env, functionId, dev, tdi } = w;
    await withDevif(w);
    // The host enables ATS on the TDI before LOCK: the DSM reports it in INTERFACE_INFO.
    const read = (o: number, s: number) => dev.device.configRead(tdi.fn, o, s);
    const ats = walkExtCapabilities(read).find((c) => c.id === regs.PCI_EXT_CAP_ID_ATS);
    assert.ok(ats, 'the NIC VF has ATS');
    dev.device.configWrite(tdi.fn, ats.offset + regs.PCI_ATS_CTRL, 2, regs.PCI_ATS_CTRL_ENABLE);
    ok(await hostRequest(w, 'LOCK_INTERFACE_REQUEST'));

    const rep = await tdRequest(w, 'GET_DEVICE_INTERFACE_REPORT');
    assert.equal(rep.status, 'TDX_DEVIF_INVALID_TDI_CONFIGURATION');
    assert.match(rep.detail ?? '', /ATS enabled/);
    assert.equal(rep.value?.value, undefined, 'the TD gets no report');
    assert.equal(p.tsm.tdis.get(tdi.requesterId)?.report, undefined);
    const info = ok(tdgDevifRd(p, env, { td: TD, functionId }));
    assert.equal(info.valid, false);
    assert.equal(info.report, undefined);
    await refused(p, 'TDX_DEVIF_INVALID_STATE', () => tdgTdiStart(p, env, { td: TD, functionId }));
    ok(await hostRequest(w, 'STOP_INTERFACE_REQUEST'));
  });
});

describe('TDX report policy', () => {
  const clean: InterfaceReport = {
    interfaceInfo: {
      noUpdateAfterLock: true,
      dmaWithoutPasid: true,
      dmaWithPasid: false,
      atsSupported: false,
      prsSupported: false,
      xtModeSupported: false,
    },
    msixMessageControl: 0,
    lnrControl: 0,
    tphControl: 0,
    mmioRanges: [],
    deviceSpecificInfo: new Uint8Array(0),
  };
  it('accepts DMA without PASID and no MSI-X, LNR or TPH control', () => {
    assert.equal(reportRefusal(clean, 0), undefined);
  });
  const bad: [string, InterfaceReport, RegExp][] = [
    ['PASID', { ...clean, interfaceInfo: { ...clean.interfaceInfo, dmaWithPasid: true } }, /PASID/],
    ['ATS', { ...clean, interfaceInfo: { ...clean.interfaceInfo, atsSupported: true } }, /ATS/],
    ['PRS', { ...clean, interfaceInfo: { ...clean.interfaceInfo, prsSupported: true } }, /PRS/],
    [
      'no DMA without PASID',
      { ...clean, interfaceInfo: { ...clean.interfaceInfo, dmaWithoutPasid: false } },
      /without PASID/,
    ],
    ['MSI-X control', { ...clean, msixMessageControl: 0x8000 }, /MSI_X_MESSAGE_CONTROL 0x8000/],
    ['LNR control', { ...clean, lnrControl: 1 }, /LNR_CONTROL/],
    ['TPH control', { ...clean, tphControl: 0x100 }, /TPH_CONTROL 0x100/],
  ];
  for (const [name, r, why] of bad) {
    it(`refuses ${name}`, () => assert.match(reportRefusal(r, 0) ?? '', why));
  }
  const msixRange = {
    firstPage: 0x10n,
    numberOfPages: 1,
    attributes: { msixTable: true, msixPba: false, nonTee: false, updatable: false },
    rangeId: 0,
  };
  it('refuses a range flagged MSI-X table when it locked without LOCK_MSIX', () => {
    const r = { ...clean, mmioRanges: [msixRange] };
    assert.match(reportRefusal(r, 0) ?? '', /range 0 flagged MSI-X without LOCK_MSIX/);
  });
  it('with LOCK_MSIX asked for, accepts MSI-X and TPH control and MSI-X ranges, not the rest', () => {
    const r = { ...clean, msixMessageControl: 0x8007, tphControl: 0x100, mmioRanges: [msixRange] };
    assert.equal(reportRefusal(r, LOCK_INTERFACE_FLAGS.LOCK_MSIX), undefined);
    for (const [name, b, why] of bad.filter(([, x]) => x.msixMessageControl + x.tphControl === 0)) {
      assert.match(reportRefusal(b, LOCK_INTERFACE_FLAGS.LOCK_MSIX) ?? '', why, name);
    }
  });
});

describe('TDX: a host that drops what it carries', () => {
  const dropping = (binding: RequesterTransport['binding']): RequesterTransport => ({
    binding,
    exchange: () => Promise.reject(Object.assign(new Error('dropped'), { name: 'TransportError' })),
    close: async () => undefined,
  });

  it('CONNECT fails authentication and leaves the device unconnected', async () => {
    const w = await tdxWorld('tdx drop connect');
    const { p, env, device } = w;
    ok(tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 }));
    ok(tdhIdeStreamCreate(p, env, { device, streamId: STREAM }));
    await refused(p, 'TDX_SPDM_AUTH_FAILED', () =>
      tdhSpdmConnect(p, env, { device }, dropping(w.carrier.binding)),
    );
    assert.equal(p.tsm.devices.get(device)?.phase, 'created');
    ok(await tdhSpdmConnect(p, env, { device }, w.carrier));
  });

  it('a dropped TDISP exchange is TDX_DEVIF_TDISP_INVALID_MESSAGE and consumes the request', async () => {
    const w = await tdxWorld('tdx drop devif');
    const { p, env, functionId } = w;
    await withDevif(w);
    ok(tdhDevifRequest(p, env, { functionId, request: 'LOCK_INTERFACE_REQUEST' }));
    const r = await tdhDevifResponse(p, env, { functionId }, dropping(w.carrier.binding));
    assert.equal(r.status, 'TDX_DEVIF_TDISP_INVALID_MESSAGE');
    assert.match(r.detail ?? '', /LOCK_INTERFACE_REQUEST/);
    assert.equal(p.tsm.tdis.get(w.tdi.requesterId)?.state, 'CONFIG_UNLOCKED');
    assert.equal(p.vendor.devifs.get(w.tdi.requesterId)?.outstanding, undefined);
    // The lost message ended the secured session: every further exchange is refused, not
    // attempted, until the device is connected again.
    ok(tdhDevifRequest(p, env, { functionId, request: 'LOCK_INTERFACE_REQUEST' }));
    await refused(p, 'TDX_SPDM_INVALID_STATE', () =>
      tdhDevifResponse(p, env, { functionId }, w.carrier),
    );
  });

  it('tables without the entry: MMIOMT and DMAR calls on nothing', async () => {
    const w = await tdxWorld('tdx nothing');
    const { p, env, functionId } = w;
    await withDevif(w);
    await refused(p, 'TDX_MMIOMT_NOT_PRESENT', () => tdhMmiomtRd(p, env, { pfn: 1n }));
    await refused(p, 'TDX_MMIOMT_NOT_PRESENT', () => tdhMmiomtRemove(p, env, { pfn: 1n }));
    await refused(p, 'TDX_MMIOMT_NOT_PRESENT', () => tdhMmiomtSet(p, env, { pfn: 1n, functionId }));
    await refused(p, 'TDX_DMAR_ENTRY_NOT_PRESENT', () => tdhDmarBlock(p, env, { functionId }));
    await refused(p, 'TDX_DMAR_ENTRY_NOT_PRESENT', () => tdhDmarRemove(p, env, { functionId }));
    // DMAR.ADD needs the TDI locked (the core's rule).
    await refused(p, 'TDX_DEVIF_TDISP_INVALID_STATE', () => tdhDmarAdd(p, env, { functionId }));
    ok(tdhMmiomtAdd(p, env, { pfn: 1n }));
    ok(tdhMmiomtRemove(p, env, { pfn: 1n }));
  });
});

describe('TDX: the guest ABI module reaches no host call', () => {
  it('guest-abi.ts imports neither host module', () => {
    const src = readFileSync(
      new URL('../../../src/platform/tdx/guest-abi.ts', import.meta.url),
      'utf8',
    );
    assert.doesNotMatch(src, /from '\.\/host-/);
    const hostSrc = readFileSync(
      new URL('../../../src/platform/tdx/host-abi.ts', import.meta.url),
      'utf8',
    );
    assert.doesNotMatch(hostSrc, /from '\.\/guest-abi/);
  });
});
