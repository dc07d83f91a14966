/**
 * Test support: a real pseudo-terminal pair made by socat (Debian's `socat`), so driver tests
 * run the agent's real serial code path. Not exported by the package.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running pair: `hostPath` is the agent's end, `devicePath` the fake terminal's. */
export interface PtyPair {
  hostPath: string;
  devicePath: string;
  /** Stops socat and removes the links. */
  close(): void;
  /** Kills socat at once (SIGKILL), as when a USB terminal is pulled: both ends hang up. Resolves once it exited. */
  hangUp(): Promise<void>;
}

/**
 * Starts `socat pty,raw,echo=0 … pty,raw,echo=0` with both links in a new temp folder and waits
 * until they exist.
 * @throws Error when socat has not created the links within 5 s.
 */
export async function openPtyPair(prefix = 'posbridge-pty-'): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const hostPath = join(dir, 'a');
  const devicePath = join(dir, 'b');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], {
    stdio: 'ignore',
  });
  const close = () => {
    socat.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  while (!(existsSync(hostPath) && existsSync(devicePath))) {
    if (Date.now() - t0 > 5000) {
      close();
      throw new Error('socat did not create the pty pair');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const hangUp = () =>
    new Promise<void>((resolve) => {
      if (socat.exitCode !== null || socat.signalCode !== null) return resolve();
      socat.once('exit', () => resolve());
      socat.kill('SIGKILL');
    });
  return { hostPath, devicePath, close, hangUp };
}
