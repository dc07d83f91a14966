/**
 * A serial line that hangs up under a reader: socat (the pty pair) is killed while bytes flow.
 * Every read must end — the stream closes with a disconnect — and nothing may keep reading:
 * before the fix, `@serialport/bindings-cpp` re-read a hung-up tty (0 bytes) in a tight loop,
 * 100 % CPU and growing memory, and the stream never closed (`npm run demo` never exited).
 * The replacement read alone, with a scripted `fs.read`: kit/src/serial-binding.test.ts.
 * @requires-program socat
 */
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { openPtyPair } from '../testing/pty-pair.ts';
import { destroyStream } from './byte-transport.ts';
import { openSerialPort } from './serial.ts';

/** Resolves once `stream` closes (listening from now on), or rejects `ms` after `armed()` is called. */
function whenClosed(stream: Duplex): { closed: Promise<void>; armed: (ms: number) => Promise<void> } {
  let done = false;
  const closed = new Promise<void>((resolve) => {
    stream.once('close', () => {
      done = true;
      resolve();
    });
  });
  const armed = (ms: number) =>
    done
      ? Promise.resolve()
      : Promise.race([closed, new Promise<void>((_r, reject) => setTimeout(() => reject(new Error(`the reader did not end within ${ms} ms of the hang-up`)), ms).unref())]);
  return { closed, armed };
}

describe('a serial reader whose line hangs up (socat killed)', () => {
  it.each([1, 2, 3, 4, 5, 6])('round %i: the reader ends, and nothing spins afterwards', async () => {
    const pty = await openPtyPair('posbridge-hangup-');
    const reader = await openSerialPort({ path: pty.hostPath, baudRate: 9600 });
    const writer = await openSerialPort({ path: pty.devicePath, baudRate: 9600 });
    try {
      for (const s of [reader, writer]) s.on('error', () => undefined);
      let received = 0;
      reader.on('data', (chunk: Buffer) => (received += chunk.length));
      // Keep bytes flowing so a read is in progress when the line goes.
      const flood = setInterval(() => {
        if (!writer.destroyed) writer.write(Buffer.alloc(1024, 0x41));
      }, 1);
      await waitFor(() => received > 0, { timeoutMs: 3_000, message: 'bytes through the pty' });
      const end = whenClosed(reader);
      await pty.hangUp();
      try {
        await end.armed(3_000);
      } finally {
        clearInterval(flood);
      }
      expect(received).toBeGreaterThan(0);
      // No read loop left behind: this process stays (nearly) idle. Real time on purpose: the CPU
      // this process uses over a real half second is what is measured.
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 500));
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000).toBeLessThan(250);
    } finally {
      await destroyStream(reader);
      await destroyStream(writer);
      pty.close();
    }
  }, 15_000);
});
