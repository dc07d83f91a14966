import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI_OPTIONS, USAGE } from './cli-usage.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/posbridge-homologate.js', import.meta.url).pathname;
const NODE_ARGS = ['--conditions=@posbridge/source', '--import', 'tsx'];

describe('posbridge-homologate command line', () => {
  it('--help documents every option', () => {
    for (const name of Object.keys(CLI_OPTIONS)) expect(USAGE).toContain(`--${name}`);
  });

  it('prints the help with --help and exits 0', async () => {
    const { stdout } = await run(process.execPath, [...NODE_ARGS, BIN, '--help']);
    expect(stdout).toBe(USAGE);
  });

  it('exits 2 with a clear message for a missing or bad option', async () => {
    const missing = await run(process.execPath, [...NODE_ARGS, BIN, '--url', 'http://127.0.0.1:1']).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 2, stderr: 'posbridge-homologate: --app-key is required (see --help)\n' });
    const bad = await run(process.execPath, [...NODE_ARGS, BIN, '--url', 'http://x', '--app-key', 'k', '--app-token', 't', '--callback-host', 'nope']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/--callback-host: "nope" is not host:port/);
    const wildcard = await run(process.execPath, [...NODE_ARGS, BIN, '--url', 'http://x', '--app-key', 'k', '--app-token', 't', '--callback-host', '0.0.0.0:8443']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(wildcard).toMatchObject({ code: 2 });
    expect((wildcard as { stderr: string }).stderr).toMatch(/--callback-public-host/);
  });
});
