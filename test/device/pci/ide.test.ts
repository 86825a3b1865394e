/** The IDE extended capability's registers and how they follow the stream state. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDevice } from '../../../src/device/pci/device.ts';
import { nic, nvme } from '../../../src/device/profiles/index.ts';
import { dsmStandIn } from './dsm-stand-in.ts';
import { ev, findCap, findExtCap, recorder } from './host.ts';

function setup() {
  const dev = createDevice(nic);
  const ide = findExtCap(dev, 0, 0x30)!;
  const link = ide + 0x0c;
  const sel0 = link + 8; // one Link IDE block of 8 bytes first
  const sel1 = sel0 + 20 + 12; // each Selective block: 20 bytes + one address block
  return { dev, dsm: dsmStandIn(dev), ide, link, sel0, sel1, rec: recorder(dev) };
}

describe('IDE capability registers', () => {
  it('IDE Capability: Link and Selective supported, IDE_KM, counts minus one, TEE-Limited', () => {
    const { dev, ide, sel0, sel1 } = setup();
    assert.equal(dev.configRead(0, ide, 4) & 0xfffff, 0x10030);
    assert.equal(dev.configRead(0, ide + 4, 4), 0x01030043);
    assert.equal(dev.configRead(0, sel0, 4), 1, 'one address association block');
    assert.equal(dev.configRead(0, sel1, 4), 1);
  });

  it('a Selective stream block shows Secure when enabled and its stream id is Secure', () => {
    const { dev, dsm, sel0 } = setup();
    dev.configWrite(0, sel0 + 4, 4, 0x05000001); // Stream ID 5, Enable
    assert.equal(dev.configRead(0, sel0 + 8, 4) & 0xf, 0, 'Insecure');
    dsm.setStreamState(5, 'Secure');
    assert.equal(dev.configRead(0, sel0 + 8, 4) & 0xf, 2, 'Secure');
    assert.equal(dev.streamState(5), 'Secure');
  });

  it('the host clearing Enable of a Secure stream makes it Insecure for good (keys dropped)', () => {
    const { dev, dsm, sel0, rec } = setup();
    dev.configWrite(0, sel0 + 4, 4, 0x05000001);
    dsm.setStreamState(5, 'Secure');
    rec.take();
    dev.configWrite(0, sel0 + 4, 4, 0x05000000);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'IDE_STREAM_INSECURE', streamId: 5 })]);
    dev.configWrite(0, sel0 + 4, 4, 0x05000001);
    assert.equal(dev.configRead(0, sel0 + 8, 4) & 0xf, 0);
    assert.equal(dev.streamState(5), 'Insecure');
  });

  it('changing an association register of a Secure stream is SECURITY_CONFIG_CHANGE; of an idle one, nothing', () => {
    const { dev, dsm, sel0, sel1, rec } = setup();
    dev.configWrite(0, sel1 + 0x0c, 4, 0x00ffff00);
    dev.configWrite(0, sel0 + 4, 4, 0x05000001);
    dsm.setStreamState(5, 'Secure');
    dev.configWrite(0, sel0 + 0x0c, 4, 0);
    assert.deepEqual(rec.take(), [], 'same value');
    dev.configWrite(0, sel0 + 0x0c, 4, 0x00ffff00);
    dev.configWrite(0, sel0 + 0x14, 4, 0x00100001);
    dev.configWrite(0, sel0 + 4, 4, 0x05380001); // TC changed
    assert.deepEqual(rec.take(), [
      ev(0, { kind: 'SECURITY_CONFIG_CHANGE', register: 'PCI_IDE_SEL_RID_1' }),
      ev(0, { kind: 'SECURITY_CONFIG_CHANGE', register: 'PCI_IDE_SEL_ADDR_1(0)' }),
      ev(0, { kind: 'SECURITY_CONFIG_CHANGE', register: 'PCI_IDE_SEL_CTL' }),
    ]);
  });

  it('TEE-Limited Stream is read-only while the stream is enabled', () => {
    const { dev, sel0 } = setup();
    dev.configWrite(0, sel0 + 4, 4, 0x05800001);
    dev.configWrite(0, sel0 + 4, 4, 0x05000001);
    assert.equal(dev.configRead(0, sel0 + 4, 4), 0x05800001);
    dev.configWrite(0, sel0 + 4, 4, 0x05000000);
    dev.configWrite(0, sel0 + 4, 4, 0x05000000);
    assert.equal(dev.configRead(0, sel0 + 4, 4), 0x05000000);
  });

  it('the Link IDE stream block follows the same rules', () => {
    const { dev, dsm, link, rec } = setup();
    dev.configWrite(0, link, 4, 0x07000001);
    dsm.setStreamState(7, 'Secure');
    assert.equal(dev.configRead(0, link + 4, 4) & 0xf, 2);
    dev.configWrite(0, link, 4, 0x07000000);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'IDE_STREAM_INSECURE', streamId: 7 })]);
  });

  it('an FLR of function 0 leaves the IDE registers and stream state alone', () => {
    const { dev, dsm, sel0, rec } = setup();
    dev.configWrite(0, sel0 + 4, 4, 0x05000001);
    dsm.setStreamState(5, 'Secure');
    dev.configWrite(0, findCap(dev, 0, 0x10)! + 8, 2, 0x8000);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'FLR', fromPf: false })]);
    assert.equal(dev.configRead(0, sel0 + 4, 4), 0x05000001);
    assert.equal(dev.configRead(0, sel0 + 8, 4) & 0xf, 2);
  });

  it('stream operations need an IDE capability', () => {
    const dev = createDevice({ ...nvme, dsm: { doe: {} } });
    assert.throws(() => dev.streamLeftSecure(0), RangeError);
    assert.throws(() => dev.streamState(0), RangeError);
    assert.throws(() => dev.linkDown(), RangeError);
    assert.throws(() => createDevice(nvme).streamLeftSecure(256), RangeError);
  });
});
