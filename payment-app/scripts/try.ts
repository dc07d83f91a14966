/**
 * `npm run app:dev` — try the Payment App by hand: starts `npm run stack` (server + simulated
 * terminal + agent, on a free port unless PORT is set), then the vite dev server with the host
 * helper wired to it, and prints the demo host page's URL. Ctrl-C stops both.
 *
 * Environment: APP_PORT (dev server port, default 5173), PORT (stack port, default 0 = free),
 * STEP_DELAY_MS (simulator think time between stages, default 1200: slow enough to watch).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { hostHelper } from '../dev/host-helper.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Ready {
  event: 'ready';
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  terminals: { serialNumber: string }[];
}

const stack = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/stack.ts', '--step-delay-ms', process.env['STEP_DELAY_MS'] ?? '1200'], {
  cwd: ROOT,
  env: { ...process.env, PORT: process.env['PORT'] ?? '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ready = await new Promise<Ready>((resolve, reject) => {
  stack.once('exit', (code) => reject(new Error(`npm run stack exited with ${code}`)));
  createInterface({ input: stack.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as Ready;
    if (parsed.event === 'ready') resolve(parsed);
  });
});

const server = await createServer({
  configFile: `${APP_ROOT}/vite.config.ts`,
  server: { host: '127.0.0.1', port: Number(process.env['APP_PORT'] ?? '5173') },
  plugins: [hostHelper(ready)],
});
await server.listen();
const url = server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5173/';
process.stdout.write(
  `\nposbridge stack on ${ready.pppBaseUrl} (terminals: ${ready.terminals.map((t) => t.serialNumber).join(', ')})\n` +
    `demo host page:   ${url}\n` +
    `Payment App page: ${url}app.html (embedded by the host page)\n` +
    `Press Ctrl-C to stop.\n\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.close().finally(() => {
    stack.once('exit', () => process.exit(0));
    stack.kill('SIGTERM');
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
