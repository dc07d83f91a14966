/**
 * `posbridge-homologate` (the workspace's installed bin, node_modules/.bin) against `npm run stack`
 * (issue 16 "Done when"): every VTEX Test Suite case and the POS flows pass through the running
 * stack, with no clerk (the Test Suite cases run on the merchant's virtual terminal) and, with
 * `--serial`, whole sales on the simulated terminal. The stack is started exactly as
 * test/e2e/stack-contract.test.ts does, and the CLI gets only the ready line's URL and credentials.
 * @requires-program socat
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { runHomologate } from '../helpers/homologate-bin.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The ready line of `npm run stack` (scripts/stack.ts). */
interface Ready {
  event: 'ready';
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  terminals: { serialNumber: string }[];
}

describe('posbridge-homologate against npm run stack', () => {
  let child: ChildProcessWithoutNullStreams;
  let ready: Ready;
  const stderrLines: string[] = [];

  beforeAll(async () => {
    child = spawn(process.execPath, [...SOURCE_NODE_ARGS, 'scripts/stack.ts', '--step-delay-ms', '5'], { cwd: ROOT, env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' } });
    createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line; stderr:\n${stderrLines.join('\n')}`)), 45_000);
      child.once('exit', (code) => reject(new Error(`stack exited with ${code}; stderr:\n${stderrLines.join('\n')}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as Ready;
        if (parsed.event === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
    });
  }, 60_000);

  afterAll(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  const credentials = (): string[] => ['--url', ready.pppBaseUrl, '--app-key', ready.appKey, '--app-token', ready.appToken];

  it('passes every Test Suite case and the POS create, and prints the report with the token redacted', async () => {
    const { code, stdout, stderr } = await runHomologate(credentials());
    expect(stderr).toBe('');
    expect(stdout).toContain('7/7 cases passed: PASS');
    for (const name of ['Manifest', 'Authorize', 'Denied', 'Cancel', 'AsyncApproved', 'AsyncDenied', 'POS Create']) expect(stdout).toMatch(new RegExp(`^${name}\\s.*\\sPASS\\s+\\d+ ms$`, 'm'));
    expect(stdout).toContain('"X-VTEX-API-AppToken":"[redacted]"');
    expect(stdout).not.toContain(ready.appToken);
    // posbridge sends authorizationId null before approval and maxValue as a decimal: warned, not hidden.
    expect(stdout).toMatch(/accepted under authorizationId-null/);
    expect(code).toBe(0);
  }, 60_000);

  it('with --serial, both Venda Direta sales run on the simulated terminal and pass (JSON report)', async () => {
    const { code, stdout } = await runHomologate([...credentials(), '--serial', ready.terminals[0]!.serialNumber, '--json']);
    const report = JSON.parse(stdout) as { passed: boolean; cases: { name: string; passed: boolean; failures: string[]; exchanges: { durationMs: number }[] }[] };
    expect(report.cases.map((c) => [c.name, c.passed, c.failures])).toEqual(
      ['Manifest', 'Authorize', 'Denied', 'Cancel', 'AsyncApproved', 'AsyncDenied', 'Venda Direta Credito', 'Venda Direta Debito'].map((n) => [n, true, []]),
    );
    expect(report.passed).toBe(true);
    for (const c of report.cases) for (const e of c.exchanges) expect(e.durationMs).toBeLessThan(5_000);
    expect(code).toBe(0);
  }, 90_000);
});
