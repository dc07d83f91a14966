/**
 * The installed bin's shebang (`bin/posbridge-agent.js`): `#!/usr/bin/env -S node <flags>`. The
 * flags keep the idle agent under 60 MiB (docs/performance.md "Agent footprint"); these tests
 * run them through GNU `env -S` the way the kernel does, on this `node`, so a Node that drops or
 * renames one (node then refuses to start: "bad option") or a flag that starts warning fails here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/posbridge-agent.js', import.meta.url));
const shebang = readFileSync(BIN, 'utf8').split('\n', 1)[0]!;

describe('posbridge-agent bin shebang', () => {
  it('runs node through env -S with the memory flags', () => {
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node /);
    const flags = shebang.replace(/^#!\/usr\/bin\/env -S node /, '').split(/\s+/);
    expect(flags).toEqual(['--max-semi-space-size=1', '--v8-pool-size=1', '--lite-mode', '--no-expose-wasm']);
  });

  it('starts this node with those flags, silently, with WebAssembly off', () => {
    const script = 'process.stdout.write(JSON.stringify({ execArgv: process.execArgv, wasm: typeof WebAssembly }))';
    // PATH first lists this node's directory, so `env` finds the node running the tests.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
    const args = ['-S', `${shebang.replace(/^#!\/usr\/bin\/env -S /, '')} -e "${script.replaceAll('"', '\\"')}"`];
    const run = spawnSync('/usr/bin/env', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.stderr).toBe(''); // e.g. "disabling flag --expose_wasm due to conflicting flags"
    expect(run.status).toBe(0);
    const parsed = JSON.parse(run.stdout) as { execArgv: string[]; wasm: string };
    expect(parsed.execArgv).toEqual(['--max-semi-space-size=1', '--v8-pool-size=1', '--lite-mode', '--no-expose-wasm', '-e', script]);
    expect(parsed.wasm).toBe('undefined');
  });
});
