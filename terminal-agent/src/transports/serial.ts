/**
 * The serial transport: opens a terminal's port with `serialport` and hands back the port,
 * which is a Node `Duplex` of raw bytes.
 *
 * `serialport` is a native module and CommonJS; it is imported lazily, here and only here, so
 * everything else in the agent (and its tests) loads on machines without the native build.
 * DTR/RTS are left alone: they do nothing on a pseudo-terminal and PBL/1 does not use them.
 * Ports read through {@link eofSafeBinding}: a line that hangs up (end of file, EIO) closes the
 * stream instead of spinning in a read loop.
 *
 * @see CONTRIBUTING.md "Drivers and transports"
 */
import type { Duplex } from 'node:stream';
import { CodedError } from '@posbridge/protocol/errors';
import { eofSafeBinding, type SerialBinding } from '@posbridge/kit/serial-binding';

/** What the serial transport needs to open a port. */
export interface SerialPortOptions {
  /** Device path (`/dev/ttyACM0`, `COM3`). */
  path: string;
  /** Line speed in baud. */
  baudRate: number;
  /** @default 8 */
  dataBits?: 7 | 8;
  /** @default 'none' */
  parity?: 'none' | 'even' | 'odd';
}

let safeBinding: SerialBinding | undefined;

/**
 * Opens `path` at `baudRate` (8N1 unless told otherwise) and resolves once the port is open.
 * @throws CodedError `TERM_PORT_OPEN_FAILED` when serialport cannot be loaded or the port cannot be opened.
 */
export async function openSerialPort(opts: SerialPortOptions): Promise<Duplex> {
  let mod: typeof import('serialport');
  try {
    mod = await import('serialport');
  } catch (err) {
    throw new CodedError('TERM_PORT_OPEN_FAILED', 'the serialport native module could not be loaded', {
      cause: err,
      details: { path: opts.path },
    });
  }
  // CommonJS interop: named export under ESM, or on `default` depending on the loader.
  const SerialPort = mod.SerialPort ?? (mod as unknown as { default: typeof mod }).default.SerialPort;
  const path = await resolveSerialPath(opts.path, () => SerialPort.list());
  safeBinding ??= eofSafeBinding(SerialPort.binding);
  const options = {
    path,
    baudRate: opts.baudRate,
    dataBits: opts.dataBits ?? 8,
    parity: opts.parity ?? 'none',
    // An exclusive lock (TIOCEXCL): a second program cannot open the terminal's port under us.
    lock: true,
    autoOpen: false,
    // SerialPort's constructor takes `binding` from its options over the detected one.
    binding: safeBinding,
  } as const;
  const port = new SerialPort(options);
  await new Promise<void>((resolve, reject) => {
    port.open((err) => {
      if (err) {
        reject(
          new CodedError('TERM_PORT_OPEN_FAILED', `could not open ${opts.path}: ${err.message}`, {
            cause: err,
            details: { path: opts.path, baudRate: opts.baudRate },
          }),
        );
      } else {
        resolve();
      }
    });
  });
  return port;
}

/** A port as `SerialPort.list()` reports it (the fields we use). */
export interface ListedSerialPort {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

/**
 * Resolves a stable USB address to the current device path, again on every open, so a port
 * that re-enumerated under another `/dev/ttyACM*` number is found again:
 * `usb:<vid>:<pid>[:<serial>]` (hex ids, as `posbridge-agent ports` prints them). Any other
 * path (a `/dev/serial/by-id/…` link, `COM3`, a pty) is returned unchanged.
 * @throws CodedError `TERM_PORT_OPEN_FAILED` when no port, or several, match.
 */
export async function resolveSerialPath(path: string, list: () => Promise<ListedSerialPort[]>): Promise<string> {
  const m = /^usb:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})(?::(.+))?$/.exec(path);
  if (!m) return path;
  const [, vid, pid, serial] = m as unknown as [string, string, string, string | undefined];
  const found = (await list()).filter(
    (p) =>
      p.vendorId?.toLowerCase() === vid.toLowerCase() &&
      p.productId?.toLowerCase() === pid.toLowerCase() &&
      (serial === undefined || p.serialNumber === serial),
  );
  if (found.length === 0) throw new CodedError('TERM_PORT_OPEN_FAILED', `no serial port with USB id ${vid}:${pid}${serial ? ` serial ${serial}` : ''} is connected`);
  if (found.length > 1) throw new CodedError('TERM_PORT_OPEN_FAILED', `${found.length} serial ports match ${path}: add the USB serial number (usb:${vid}:${pid}:<serial>)`);
  return (found[0] as ListedSerialPort).path;
}
