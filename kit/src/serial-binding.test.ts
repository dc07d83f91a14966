/**
 * The EOF-safe read of `serial-binding.ts` with a scripted `fs.read`: end of file and I/O errors
 * end the read as a disconnect after one read (never a read loop), `EAGAIN` waits for the poller.
 * Over a real pty whose socat is killed: terminal-agent/src/transports/serial-hangup.integration.test.ts
 * and hardware-sim/src/pty-hangup.integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { eofSafeRead, type FdRead } from './serial-binding.ts';

describe('eofSafeRead', () => {
  const port = (fd: number | null = 7) => {
    const waits: number[] = [];
    return {
      fd,
      isOpen: fd !== null,
      poller: { once: (_e: 'readable', cb: (err: Error | null) => void) => (waits.push(1), setImmediate(() => cb(null))) },
      waits,
    };
  };
  const scripted = (steps: (number | string)[]) => {
    let calls = 0;
    const read: FdRead = async (_fd, buffer) => {
      const step = steps[Math.min(calls, steps.length - 1)];
      calls += 1;
      if (typeof step === 'string') throw Object.assign(new Error(step), { code: step });
      buffer.fill(0x41, 0, step);
      return { bytesRead: step ?? 0 };
    };
    return { read, calls: () => calls };
  };

  it('end of file (0 bytes) ends the read with a disconnect after one read, never a second', async () => {
    const p = port();
    const r = scripted([0]);
    await expect(eofSafeRead(p, r.read)(Buffer.alloc(8), 0, 8)).rejects.toMatchObject({ code: 'EOF', disconnect: true });
    expect(r.calls()).toBe(1);
  });

  it('EIO ends the read with a disconnect', async () => {
    const r = scripted(['EIO']);
    await expect(eofSafeRead(port(), r.read)(Buffer.alloc(8), 0, 8)).rejects.toMatchObject({ code: 'EIO', disconnect: true });
    expect(r.calls()).toBe(1);
  });

  it('EAGAIN waits for the poller once per retry, then returns the bytes', async () => {
    const p = port();
    const r = scripted(['EAGAIN', 'EAGAIN', 3]);
    await expect(eofSafeRead(p, r.read)(Buffer.alloc(8), 0, 8)).resolves.toMatchObject({ bytesRead: 3 });
    expect(r.calls()).toBe(3);
    expect(p.waits).toHaveLength(2);
  });

  it('a closed port ends the read as canceled (not a disconnect)', async () => {
    await expect(eofSafeRead(port(null), scripted([1]).read)(Buffer.alloc(8), 0, 8)).rejects.toMatchObject({ canceled: true });
  });
});
