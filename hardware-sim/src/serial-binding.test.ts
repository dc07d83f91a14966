/**
 * The simulator's copy of the EOF-safe read (`serial-binding.ts`) with a scripted `fs.read`: end
 * of file ends the read as a disconnect after one read, `EAGAIN` waits for the poller, `EIO` is a
 * disconnect. Over a real pty whose socat is killed: pty-hangup.integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { eofSafeRead } from './serial-binding.ts';

describe('eofSafeRead', () => {
  const port = { fd: 7, isOpen: true, poller: { once: (_e: 'readable', cb: (err: Error | null) => void) => setImmediate(() => cb(null)) } };
  it('end of file (0 bytes) ends the read with a disconnect after one read, never a second', async () => {
    let calls = 0;
    const read = async () => {
      calls += 1;
      return { bytesRead: 0 };
    };
    await expect(eofSafeRead(port, read)(Buffer.alloc(8), 0, 8)).rejects.toMatchObject({ code: 'EOF', disconnect: true });
    expect(calls).toBe(1);
  });
  it('EAGAIN waits for the poller, then returns the bytes; EIO is a disconnect', async () => {
    const steps: (number | string)[] = ['EAGAIN', 2, 'EIO'];
    const read = async () => {
      const step = steps.shift();
      if (typeof step === 'string') throw Object.assign(new Error(step), { code: step });
      return { bytesRead: step ?? 0 };
    };
    const r = eofSafeRead(port, read);
    await expect(r(Buffer.alloc(8), 0, 8)).resolves.toMatchObject({ bytesRead: 2 });
    await expect(r(Buffer.alloc(8), 0, 8)).rejects.toMatchObject({ code: 'EIO', disconnect: true });
  });
});
