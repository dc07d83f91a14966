/**
 * An in-memory, cross-wired pair of byte streams, in the style of ws's `duplex-pair.js`:
 * what one end writes, the other end reads. Used by tests and by in-process simulators in
 * place of a serial port.
 *
 * Each direction is a `PassThrough`; destroying either end destroys the other, the way
 * unplugging a cable is seen by both sides.
 */
import { Duplex, PassThrough } from 'node:stream';

/** Two cross-wired Duplex streams: what `a` writes, `b` reads, and vice versa. */
export interface MemoryPair {
  /** The host (agent) end. */
  a: Duplex;
  /** The device (terminal) end. */
  b: Duplex;
}

/** Creates a {@link MemoryPair}. */
export function createMemoryPair(): MemoryPair {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const ends: Duplex[] = [];
  const makeEnd = (incoming: PassThrough, outgoing: PassThrough): Duplex => {
    const end: Duplex = new Duplex({
      read() {
        incoming.resume();
      },
      write(chunk: Buffer, _encoding, callback) {
        outgoing.write(chunk, callback);
      },
      final(callback) {
        outgoing.end();
        callback();
      },
      destroy(err, callback) {
        outgoing.end();
        for (const other of ends) if (other !== end && !other.destroyed) other.destroy();
        callback(err);
      },
    });
    incoming.on('data', (chunk: Buffer) => {
      if (!end.destroyed && !end.push(chunk)) incoming.pause();
    });
    incoming.on('end', () => {
      if (!end.destroyed) end.push(null);
    });
    return end;
  };
  const a = makeEnd(bToA, aToB);
  const b = makeEnd(aToB, bToA);
  ends.push(a, b);
  return { a, b };
}
