/**
 * socat dies under the simulator while the host floods its line: the simulator's port must
 * close ("simulator port closed unexpectedly") and nothing may keep reading — before the fix
 * the simulator re-read the hung-up pty in a tight loop (100 % CPU, growing memory) and the
 * process never exited. Closing the simulator afterwards is bounded. The replacement read
 * alone: kit/src/serial-binding.test.ts.
 * @requires-program socat
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { startSim } from './index.ts';
import { eofSafeBinding } from '@posbridge/kit/serial-binding';

/** Pids of the socat processes whose command line mentions `text` (Linux /proc). */
function socatsMentioning(text: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const [program = '', ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)socat$/.test(program) && args.some((a) => a.includes(text))) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('the simulator when socat dies under its port', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('round %i: its port closes, nothing spins, and it still closes in bounded time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posbridge-sim-hangup-'));
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    const sim = await startSim({ terminals: [{ serialNumber: 'SIM0001' }], logger: pino({ level: 'debug' }, sink), link: 'pty', dir });
    // The host end reads safely too: only the simulator's reads are under test.
    const hostOptions = { path: join(dir, 'SIM0001'), baudRate: 9600, autoOpen: false, binding: eofSafeBinding(SerialPort.binding) } as const;
    const host = new SerialPort(hostOptions);
    try {
      await new Promise<void>((resolve, reject) => host.open((err) => (err ? reject(err) : resolve())));
      host.on('error', () => undefined);
      // Keep the simulator reading when the line goes (noise lines it answers with NAK or ignores).
      const flood = setInterval(() => {
        if (host.isOpen) host.write(Buffer.from('x'.repeat(1000) + '\n'));
      }, 1);
      // Real time on purpose: the flood goes through a real pty and socat; nothing the simulator
      // logs marks a read in progress.
      await new Promise((r) => setTimeout(r, 150));
      const socats = socatsMentioning(dir);
      expect(socats).toHaveLength(1);
      process.kill(socats[0]!, 'SIGKILL');
      await waitFor(() => logs.some((l) => l['msg'] === 'simulator port closed unexpectedly'), {
        timeoutMs: 3_000,
        intervalMs: 20,
        message: 'the simulator port to close after socat died',
      });
      clearInterval(flood);
      // Real time on purpose: the CPU used over a real half second is what is measured.
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 500));
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000).toBeLessThan(250);
      const t0 = Date.now();
      await sim.close();
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      if (host.isOpen) await new Promise<void>((resolve) => host.close(() => resolve()));
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
