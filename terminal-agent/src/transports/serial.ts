/**
 * The serial transport: opens a terminal's port with `serialport` and hands back the port,
 * which is a Node `Duplex` of raw bytes.
 *
 * `serialport` is a native module and CommonJS; it is imported lazily, here and only here, so
 * everything else in the agent (and its tests) loads on machines without the native build.
 * DTR/RTS are left alone: they do nothing on a pseudo-terminal and PBL/1 does not use them.
 *
 * @see ../../../shared/STYLE.md b.4
 */
import type { Duplex } from 'node:stream';
import { CodedError } from '@posbridge/protocol/errors';

/** What the serial transport needs to open a port. */
export interface SerialPortOptions {
  /** Device path (`/dev/ttyACM0`, `COM3`). */
  path: string;
  /** Line speed in baud (8N1). */
  baudRate: number;
}

/**
 * Opens `path` at `baudRate` 8N1 and resolves once the port is open.
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
  const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate, autoOpen: false });
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
