/**
 * Test support for the browser suite: `npm run stack` as a child process (its documented
 * contract: one JSON ready line on stdout), the web build served by `vite preview` with the host
 * helper, and Debian's Chromium through playwright-core.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { hostHelper } from '../dev/host-helper.ts';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The stack's ready line. */
export interface StackReady {
  event: 'ready';
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  terminals: { serialNumber: string }[];
}

/** A running `npm run stack`. */
export interface RunningStack {
  readonly ready: StackReady;
  readonly stderr: string[];
  stop(): Promise<void>;
}

/** Starts `scripts/stack.ts` on a free port and waits for its ready line. */
export async function startStack(args: string[] = []): Promise<RunningStack> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/stack.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info' },
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const ready = await new Promise<StackReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack: no ready line in 60 s; stderr:\n${stderr.join('\n')}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`stack exited with ${code}; stderr:\n${stderr.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as StackReady;
      if (parsed.event === 'ready') {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
  });
  return {
    ready,
    stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The web build, served by `vite preview` with the host helper wired to `stack`. */
export interface ServedApp {
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the app into a temporary folder and serves it, with the host helper unless `ready` is null (no stack). */
export async function buildAndServe(ready: StackReady | null): Promise<ServedApp> {
  const outDir = mkdtempSync(join(tmpdir(), 'posbridge-app-'));
  const configFile = join(APP_ROOT, 'vite.config.ts');
  // vitest sets NODE_ENV=test, which would make vite bundle React's development build.
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build({ configFile, mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  }
  const port = await freePort();
  const server: PreviewServer = await preview({
    configFile,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true },
    plugins: ready === null ? [] : [hostHelper(ready)],
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, the only browser that installs here (playwright cannot download one). */
export const CHROMIUM = process.env['POSBRIDGE_CHROMIUM'] ?? '/usr/bin/chromium';

/** Launches Chromium headless (plus `extraArgs`, e.g. the fake camera's); fails with the fix if it is not installed. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set POSBRIDGE_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
}

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'payment-app');
