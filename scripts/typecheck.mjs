// Type-checks every workspace against the TypeScript sources of its dependencies (no build: the
// `@posbridge/source` export condition via tsconfig customConditions, docs/adr/0004). One `tsc --noEmit -p <dir>` per project; exits non-zero if any fails.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

// payment-app is checked twice: app code against React Native's types with no DOM or Node
// (tsconfig.json), and its web pages, tests and tooling with DOM + Node (tsconfig.web.json).
const projects = ['protocol', 'kit', 'testkit', 'server', 'terminal-agent', 'hardware-sim', 'homologate', 'test', 'scripts', 'bench', 'payment-app', 'payment-app/tsconfig.web.json', 'console'];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let failed = 0;
for (const project of projects) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', project], { stdio: 'inherit' });
  const ok = run.status === 0;
  if (!ok) failed++;
  process.stdout.write(`typecheck ${project}: ${ok ? 'ok' : 'FAILED'} (${Date.now() - started} ms)\n`);
}
process.exit(failed ? 1 : 0);
