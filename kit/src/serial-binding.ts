/**
 * A `serialport` binding whose reads end when the line does.
 *
 * `@serialport/bindings-cpp` 13 reads a Unix port with `fs.read` and, when a read returns 0
 * bytes (end of file: the other side of a pseudo-terminal closed, a USB device hung up), reads
 * again at once without waiting for the port to become readable. A tty that hung up answers
 * every read with 0 bytes, so the reader spins at 100 % CPU forever and never reports the
 * drop (seen as `npm run demo` never exiting once socat had exited). This binding replaces the
 * read of every opened Unix port: 0 bytes or an I/O error (`EIO`, `EBADF`, `ENXIO`, …) ends the
 * read with a disconnect error, so the stream closes (the agent's "terminal link closed", the
 * simulator's "simulator port closed unexpectedly") and the owner reopens or stops the port;
 * `EAGAIN` waits for the port's poller, as the original does. Other platforms (Windows) keep the
 * library's read.
 *
 * One module for the agent (terminal-agent/src/transports/serial.ts) and the simulator
 * (hardware-sim/src/pty.ts).
 *
 * @see https://github.com/serialport/bindings-cpp/blob/main/lib/unix-read.ts (the read replaced)
 */
import { read as fsRead } from 'node:fs';
import { promisify } from 'node:util';
import type { SerialPort } from 'serialport';

/** The binding `serialport` detected for this platform. */
export type SerialBinding = typeof SerialPort.binding;
/** An open port of that binding. */
type BindingPort = Awaited<ReturnType<SerialBinding['open']>>;

/** `fs.read` as the binding uses it (injectable for tests). */
export type FdRead = (fd: number, buffer: Buffer, offset: number, length: number, position: null) => Promise<{ bytesRead: number }>;

/** What the replacement read needs from a Unix port (LinuxPortBinding / DarwinPortBinding). */
interface UnixPortFields {
  fd: number | null;
  isOpen: boolean;
  poller: { once(event: 'readable', callback: (err: Error | null) => void): unknown };
}

const defaultRead: FdRead = promisify(fsRead);

function isUnixPort<P extends object>(port: P): port is P & UnixPortFields {
  const p = port as Partial<UnixPortFields>;
  return (typeof p.fd === 'number' || p.fd === null) && typeof p.poller?.once === 'function';
}

/** The error a read ends with once the port was closed by us (`canceled`: not a disconnect). */
function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

/**
 * The read of an open Unix port: resolves with at least one byte; rejects with a disconnect
 * error on end of file or an I/O error, with a `canceled` error once the port is closed.
 * Waits for the poller on `EAGAIN`/`EINTR`, never reads twice without it.
 */
export function eofSafeRead(port: UnixPortFields, read: FdRead = defaultRead) {
  return async (buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> => {
    for (;;) {
      const fd = port.fd;
      if (!port.isOpen || fd === null) throw canceled();
      let bytesRead: number;
      try {
        ({ bytesRead } = await read(fd, buffer, offset, length, null));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') {
          if (!port.isOpen) throw canceled();
          await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
          continue;
        }
        // EIO, EBADF, ENXIO…: the line is gone.
        throw Object.assign(err instanceof Error ? err : new Error(String(err)), { disconnect: true });
      }
      if (bytesRead > 0) return { buffer, bytesRead };
      if (!port.isOpen) throw canceled();
      throw Object.assign(new Error('end of file on the serial line: the other side hung up'), { code: 'EOF', disconnect: true });
    }
  };
}

/**
 * `base` with every opened Unix port reading through {@link eofSafeRead}.
 * @param read - `fs.read`, promisified; injectable for tests.
 */
export function eofSafeBinding(base: SerialBinding, read: FdRead = defaultRead): SerialBinding {
  return {
    ...base,
    list: () => base.list(),
    async open(options: Parameters<SerialBinding['open']>[0]): Promise<BindingPort> {
      const port = await base.open(options);
      if (isUnixPort(port)) port.read = eofSafeRead(port, read);
      return port;
    },
  } as SerialBinding;
}
