/**
 * The HID transport against a fake HID device (no virtual HID device can be created on CI):
 * identification by vendor/product/serial, segmentation and reassembly of vendor reports,
 * unplug, and a PBL/1 driver running over it.
 */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HidReassembler, segmentHidMessage } from './hid-framing.ts';
import { LineDriver } from '../drivers/line/line-driver.ts';
import { FakeLineTerminal } from '../testing/fake-line-terminal.ts';
import { createLogSink } from '../testing/log-sink.ts';
import { hidDuplex, listHidDevices, openHidPort, type HidDeviceInfo, type HidHandle, type HidModule } from './hid.ts';

/** A fake node-hid device: records written reports; `emitReport` plays the device. */
class FakeHidHandle extends EventEmitter implements HidHandle {
  readonly written: number[][] = [];
  closed = false;
  write(values: number[]): number {
    if (this.closed) throw new Error('device closed');
    this.written.push(values);
    return values.length;
  }
  close(): void {
    this.closed = true;
  }
  emitReport(report: Uint8Array): void {
    this.emit('data', Buffer.from(report));
  }
}

const DEVICES: HidDeviceInfo[] = [
  { vendorId: 0x0801, productId: 0x2020, path: '/dev/hidraw3', serialNumber: 'B1', manufacturer: 'MagTek', product: 'DynaFlex', usagePage: 0xff00 },
  { vendorId: 0x0801, productId: 0x2020, path: '/dev/hidraw4', serialNumber: 'B2', manufacturer: 'MagTek', product: 'DynaFlex', usagePage: 0xff00 },
  { vendorId: 0x0801, productId: 0x0001, path: '/dev/hidraw5', serialNumber: 'K1', manufacturer: 'MagTek', product: 'Keyboard MSR', usagePage: 0x01 },
];

function fakeModule(devices = DEVICES) {
  const opened = new Map<string, FakeHidHandle>();
  const mod: HidModule = {
    devices: () => devices,
    open: (path) => {
      const h = new FakeHidHandle();
      opened.set(path, h);
      return h;
    },
  };
  return { mod, opened };
}

describe('HID report framing', () => {
  it('segments and reassembles any message for any report size (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 3, max: 65 }), (msg, size) => {
        const r = new HidReassembler();
        const reports = segmentHidMessage(msg, size);
        expect(reports.every((x) => x.length === size)).toBe(true);
        const out = reports.map((x) => r.push(x));
        expect(out.at(-1)).toEqual({ type: 'message', message: msg });
        expect(out.slice(0, -1).every((x) => x.type === 'partial')).toBe(true);
      }),
    );
  });

  it('reports a lost segment instead of gluing two messages together', () => {
    const r = new HidReassembler();
    const a = segmentHidMessage(new Uint8Array(100).fill(1), 16);
    const b = segmentHidMessage(new Uint8Array(10).fill(2), 16);
    r.push(a[0]!);
    expect(r.push(a[2]!)).toMatchObject({ type: 'error' });
    expect(r.push(b[0]!)).toEqual({ type: 'message', message: new Uint8Array(10).fill(2) });
  });
});

describe('HID transport', () => {
  it('lists devices with their identification', async () => {
    const { mod } = fakeModule();
    expect(await listHidDevices(mod)).toEqual(DEVICES);
  });

  it('opens the device by vendor/product/serial (stable across re-enumeration) and refuses keyboard-class readers', async () => {
    const { mod, opened } = fakeModule();
    await openHidPort({ vendorId: 0x0801, productId: 0x2020, serialNumber: 'B2', reportBytes: 64 }, mod);
    expect([...opened.keys()]).toEqual(['/dev/hidraw4']);
    await expect(openHidPort({ vendorId: 0x0801, productId: 0x2020, reportBytes: 64 }, mod)).rejects.toMatchObject({
      code: 'TERM_PORT_OPEN_FAILED',
      message: expect.stringContaining('hid.serialNumber'),
    });
    await expect(openHidPort({ vendorId: 0x0801, productId: 0x0001, reportBytes: 64 }, mod)).rejects.toMatchObject({ code: 'TERM_PORT_OPEN_FAILED' });
    // After re-enumeration the OS path changed; the ids find it again.
    const moved = fakeModule([{ ...DEVICES[1]!, path: '/dev/hidraw9' }]);
    await openHidPort({ vendorId: 0x0801, productId: 0x2020, serialNumber: 'B2', reportBytes: 64 }, moved.mod);
    expect([...moved.opened.keys()]).toEqual(['/dev/hidraw9']);
  });

  it('writes messages as report-id 0 + fixed-size reports and reads reassembled messages', async () => {
    const { mod, opened } = fakeModule();
    const port = await openHidPort({ vendorId: 0x0801, productId: 0x2020, serialNumber: 'B1', reportBytes: 16 }, mod);
    const dev = opened.get('/dev/hidraw3')!;
    const text = 'SALE p1 amount=3190 currency=986 method=credit installments=1*ABCD\n';
    await new Promise<void>((resolve, reject) => port.write(Buffer.from(text), (e) => (e ? reject(e) : resolve())));
    expect(dev.written.every((r) => r.length === 17 && r[0] === 0)).toBe(true);
    const r = new HidReassembler();
    const got = dev.written.map((w) => r.push(Uint8Array.from(w.slice(1)))).at(-1);
    expect(got?.type === 'message' && Buffer.from(got.message).toString()).toBe(text);

    const received: Buffer[] = [];
    port.on('data', (c: Buffer) => received.push(c));
    for (const rep of segmentHidMessage(Buffer.from('ACK p1*0000\n'), 16)) dev.emitReport(rep);
    await new Promise((r2) => setImmediate(r2));
    expect(Buffer.concat(received).toString()).toBe('ACK p1*0000\n');
  });

  it('treats a read error (unplugged) as a closed link', async () => {
    const { mod, opened } = fakeModule();
    const port = await openHidPort({ vendorId: 0x0801, productId: 0x2020, serialNumber: 'B1', reportBytes: 16 }, mod);
    const closed = new Promise((r) => port.once('close', r));
    port.on('error', () => undefined);
    opened.get('/dev/hidraw3')!.emit('error', new Error('could not read from HID device'));
    await closed;
    expect(opened.get('/dev/hidraw3')!.closed).toBe(true);
  });
});

describe('PBL/1 over the HID transport (fake device cross-wired to a fake terminal)', () => {
  it('identifies the terminal and runs a sale through 16-byte reports', async () => {
    const hostH = new FakeHidHandle();
    const devH = new FakeHidHandle();
    hostH.write = (v) => (setImmediate(() => devH.emitReport(Uint8Array.from(v.slice(1)))), v.length);
    devH.write = (v) => (setImmediate(() => hostH.emitReport(Uint8Array.from(v.slice(1)))), v.length);
    const terminal = new FakeLineTerminal(hidDuplex(devH, 16), { serial: 'HID-1' });
    const driver = new LineDriver({
      open: async () => hidDuplex(hostH, 16),
      logger: createLogSink().logger,
      timings: { identTimeoutMs: 500, ackTimeoutMs: 500, saleAttempts: 2, resultTimeoutMs: 1000, statusTimeoutMs: 300, statusAttempts: 2, statusBackoffMs: 10 },
    });
    try {
      await expect(driver.identify()).resolves.toMatchObject({ serialNumber: 'HID-1' });
      const outcome = await driver.sale({ paymentId: 'p', rid: 'phid1', amount: { amountMinor: 500, currency: 'BRL' }, method: 'debit', installments: 1 });
      expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
      expect(terminal.sales.size).toBe(1);
    } finally {
      await driver.close();
    }
  });
});

describe('stable serial addressing (usb:vid:pid[:serial])', () => {
  it('finds the port again after re-enumeration, by USB ids', async () => {
    const { resolveSerialPath } = await import('./serial.ts');
    const before = [{ path: '/dev/ttyACM0', vendorId: '0b00', productId: '0054', serialNumber: 'T1' }];
    const after = [{ path: '/dev/ttyACM3', vendorId: '0B00', productId: '0054', serialNumber: 'T1' }];
    expect(await resolveSerialPath('usb:0b00:0054:T1', async () => before)).toBe('/dev/ttyACM0');
    expect(await resolveSerialPath('usb:0b00:0054:T1', async () => after)).toBe('/dev/ttyACM3');
    expect(await resolveSerialPath('/dev/serial/by-id/x', async () => [])).toBe('/dev/serial/by-id/x');
    await expect(resolveSerialPath('usb:0b00:0054', async () => [...before, { ...after[0]!, serialNumber: 'T2' }])).rejects.toMatchObject({ code: 'TERM_PORT_OPEN_FAILED' });
    await expect(resolveSerialPath('usb:0b00:0054:T9', async () => before)).rejects.toMatchObject({ code: 'TERM_PORT_OPEN_FAILED' });
  });
});
