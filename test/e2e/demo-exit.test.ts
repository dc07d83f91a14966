/**
 * `npm run demo` exits within a bound after its payment, whatever is left open: here a child
 * process that nobody closes (preloaded into the demo, as a hung helper would be) keeps the event
 * loop alive. Before the watchdog the demo then never exited (as it did with a reader spinning on
 * a pty whose socat had gone); now it prints what is still open — the child among it — and
 * exits with status 3 within `--exit-timeout-s`. Plus the bounded close steps of the local stack.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runShutdownSteps } from '@posbridge/testkit/stack';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PRELOAD = new URL('../fixtures/processes/hung-child-preload.mjs', import.meta.url).href;

describe('npm run demo exits in bounded time', () => {
  it('a hung child keeps the loop alive: the watchdog prints what is open and exits 3 within the bound', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@posbridge/source', '--import', 'tsx', '--import', PRELOAD, 'scripts/demo.ts', '--step-delay-ms', '5', '--exit-timeout-s', '3'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    let approvedAt = 0;
    child.stdout.on('data', () => {
      if (approvedAt === 0 && stdout.includes('APPROVED')) approvedAt = Date.now();
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 50_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(stdout).toContain('APPROVED');
    expect(code, `the demo did not exit (killed); stderr:\n${stderr}`).toBe(3);
    expect(Date.now() - approvedAt).toBeLessThan(3_000 + 4_000);
    expect(stderr).toMatch(/the demo did not exit within 3000 ms of shutting down; still open:/);
    expect(stderr).toMatch(/child \d+: sleep 600/);
  }, 60_000);
});

describe('local stack shutdown steps', () => {
  it('a hung step is reported by name and left behind; the steps after it still run, in bounded time', async () => {
    const ran: string[] = [];
    const hung: string[] = [];
    const t0 = Date.now();
    const left = await runShutdownSteps(
      [
        { name: 'agent', run: async () => void ran.push('agent') },
        { name: 'simulator', run: () => new Promise<void>(() => undefined) },
        { name: 'server', run: async () => void ran.push('server') },
        { name: 'folder', run: () => Promise.reject(new Error('busy')) },
      ],
      { stepTimeoutMs: 200, onHung: (n) => hung.push(n), onFailed: (n) => ran.push(`failed:${n}`) },
    );
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(left).toEqual(['simulator']);
    expect(hung).toEqual(['simulator']);
    expect(ran).toEqual(['agent', 'server', 'failed:folder']);
  });
});
