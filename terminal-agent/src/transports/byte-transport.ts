/**
 * The transport contract: how a driver gets the byte stream of one terminal.
 *
 * A transport is a function that opens the terminal's link and resolves to a Node `Duplex`
 * carrying raw bytes (a `SerialPort` is one). The stream ends or is destroyed when the link
 * drops; drivers reopen by calling the function again. Implementations: `serial.ts`
 * (serialport, the default), `hid.ts` (node-hid, vendor reports segmented and reassembled by
 * hid-framing.ts), `memory-pair.ts` (tests, in-process simulator). Errors that end the link
 * carry `disconnected: true` (serialport's convention).
 *
 * @see CONTRIBUTING.md "Drivers and transports"
 */
import type { Duplex } from 'node:stream';

/**
 * Destroys a terminal's byte stream and waits for its `close` (the port's file descriptor
 * released), at most `timeoutMs`; a stream already destroyed resolves at once.
 * @param timeoutMs - longest wait, ms. @default 1000
 */
export async function destroyStream(stream: Duplex | undefined, timeoutMs = 1000): Promise<void> {
  if (!stream || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.destroy();
  });
}
