/**
 * The HID transport: finds a USB HID payment device by vendor id / product id / serial number
 * (stable across USB re-enumeration), opens it with `node-hid`, and exposes it as the same
 * byte `Duplex` a serial port is, through the vendor-report framing of hid-framing.ts.
 *
 * `node-hid` is a native module that needs Debian's `libusb-1.0-0` at run time: it is imported
 * lazily, here only, and a missing library gives `TERM_HID_UNAVAILABLE` with the fix, leaving
 * serial drivers working. Keyboard-wedge / HID-POS card readers (usage page 0x8C/0x8E,
 * clear-text track data) are never opened.
 */
import { Duplex } from 'node:stream';
import { CodedError, toError } from '@posbridge/protocol/errors';
import type { HidSelector } from '../config.ts';
import { HidReassembler, segmentHidMessage } from './hid-framing.ts';

/** One HID device as listed by the OS (node-hid's `Device`, the fields we use). */
export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  usagePage?: number;
  usage?: number;
  interface?: number;
}

/** An open HID device (node-hid's `HID`, the members we use), so tests can inject a fake. */
export interface HidHandle {
  write(values: number[]): number;
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  close(): void;
}

/** The part of the node-hid module we use (injectable). */
export interface HidModule {
  devices(): HidDeviceInfo[];
  /** Opens by OS path. */
  open(path: string): HidHandle;
}

/** Usage pages of keyboard-class / magnetic-stripe readers that deliver clear-text card data. */
const CLEAR_TEXT_USAGE_PAGES = new Set([0x01, 0x8c, 0x8e]);

/** The apt command that installs what node-hid needs. */
export const LIBUSB_FIX = 'sudo apt-get install -y libusb-1.0-0';

/**
 * Loads node-hid.
 * @throws CodedError `TERM_HID_UNAVAILABLE` naming the fix (libusb) when it cannot load.
 */
export async function loadHidModule(): Promise<HidModule> {
  try {
    const mod = (await import('node-hid')) as unknown as {
      devices: () => HidDeviceInfo[];
      HID: new (path: string) => HidHandle;
      default?: { devices: () => HidDeviceInfo[]; HID: new (path: string) => HidHandle };
    };
    const m = mod.default ?? mod;
    return { devices: () => m.devices(), open: (path) => new m.HID(path) };
  } catch (err) {
    throw new CodedError('TERM_HID_UNAVAILABLE', `the node-hid native module could not be loaded (${toError(err).message}); install libusb: ${LIBUSB_FIX}`, {
      cause: err,
    });
  }
}

/** Lists HID devices (identification: vendor/product id, serial, manufacturer, product, usage page). */
export async function listHidDevices(hid?: HidModule): Promise<HidDeviceInfo[]> {
  const mod = hid ?? (await loadHidModule());
  return mod.devices().map((d) => ({ ...d }));
}

/** True when `d` matches the selector (serial compared only when the selector has one). */
export function matchesHidSelector(d: HidDeviceInfo, sel: Pick<HidSelector, 'vendorId' | 'productId' | 'serialNumber'>): boolean {
  return d.vendorId === sel.vendorId && d.productId === sel.productId && (sel.serialNumber === undefined || d.serialNumber === sel.serialNumber);
}

/**
 * Finds the device of `selector` (again on every call: after USB re-enumeration the OS path
 * changes, the ids do not) and opens it as a byte Duplex with report framing.
 * @throws CodedError `TERM_HID_UNAVAILABLE` (node-hid/libusb), `TERM_PORT_OPEN_FAILED` (no such
 *   device, several match, keyboard-class device, open failed).
 */
export async function openHidPort(selector: HidSelector, hid?: HidModule): Promise<Duplex> {
  const mod = hid ?? (await loadHidModule());
  const id = `${hex4(selector.vendorId)}:${hex4(selector.productId)}${selector.serialNumber ? ` serial ${selector.serialNumber}` : ''}`;
  const found = mod.devices().filter((d) => matchesHidSelector(d, selector) && !CLEAR_TEXT_USAGE_PAGES.has(d.usagePage ?? -1));
  if (found.length === 0) throw new CodedError('TERM_PORT_OPEN_FAILED', `no vendor-defined HID device ${id} is connected`);
  if (found.length > 1 && selector.serialNumber === undefined) {
    throw new CodedError('TERM_PORT_OPEN_FAILED', `${found.length} HID devices match ${id}: add hid.serialNumber to the config`);
  }
  const info = found[0] as HidDeviceInfo;
  if (info.path === undefined) throw new CodedError('TERM_PORT_OPEN_FAILED', `HID device ${id} has no OS path`);
  let handle: HidHandle;
  try {
    handle = mod.open(info.path);
  } catch (err) {
    throw new CodedError('TERM_PORT_OPEN_FAILED', `could not open HID device ${id} (${toError(err).message}); on Linux check the udev rule for hidraw`, {
      cause: err,
    });
  }
  return hidDuplex(handle, selector.reportBytes);
}

/** Wraps an open HID handle as a byte Duplex: writes are segmented, reports reassembled. */
export function hidDuplex(handle: HidHandle, reportBytes: number): Duplex {
  const reassembler = new HidReassembler();
  let closed = false;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, callback) {
      try {
        for (const report of segmentHidMessage(new Uint8Array(chunk), reportBytes)) handle.write([0x00, ...report]);
        callback();
      } catch (err) {
        callback(toError(err));
      }
    },
    destroy(err, callback) {
      if (!closed) {
        closed = true;
        try {
          handle.close();
        } catch {
          // Already gone (unplugged): nothing to release.
        }
      }
      callback(err);
    },
  });
  handle.on('data', (data: Buffer) => {
    const r = reassembler.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (r.type === 'message') stream.push(Buffer.from(r.message));
    else if (r.type === 'error') stream.emit('framing-error', r.reason);
  });
  handle.on('error', (err: unknown) => {
    // node-hid reports an unplugged device as a read error: the link is gone.
    const e = toError(err);
    stream.destroy(Object.assign(e, { disconnected: true }));
  });
  return stream;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
