/**
 * The enrolment and totals commands of the `posbridge-server` binary, run beside a running
 * server on the same SQLite file (docs/agent-enrolment.md, docs/totals.md): a code made by the
 * CLI pairs an agent over HTTP; a rotation or revocation by the CLI (another process) closes the
 * agent's session through the server's credential watch; totals print as text and CSV.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { approvedPayment } from './ports/contract-helpers.ts';
import { CLOSE_CREDENTIALS_CHANGED } from './hub/credential-watch.ts';
import { connectAgent, startTestServer, tempDir, testEnv, type TestServer } from './testing/helpers.ts';

const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/posbridge-server.js', import.meta.url));

let tmp: ReturnType<typeof tempDir>;
let t: TestServer;
let env: Record<string, string>;

/** Runs the bin; resolves with its exit code and output (never rejects on a non-zero exit). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...SOURCE_NODE_ARGS, BIN, ...args], { env, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeEach(async () => {
  tmp = tempDir();
  t = await startTestServer({ POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS: '200' }, tmp.dir);
  env = { ...testEnv(join(tmp.dir, 'db.sqlite')), PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn' };
});
afterEach(async () => {
  await t.close();
  tmp.cleanup();
});

describe('posbridge-server agent pair-code / rotate-token / revoke', () => {
  it('pairs, rotates and revokes; the running server disconnects the agent each time', async () => {
    const made = await cli(['agent', 'pair-code', '--name', 'till 3', '--operator', 'ana']);
    expect(made.code).toBe(0);
    const code = /code:\s+(\S+)/.exec(made.stdout)?.[1] ?? '';
    expect(code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    expect(made.stdout).toContain(`posbridge-agent pair ${code} --server`);
    // The audit line names the operator, never the code.
    expect(made.stderr).toContain('"actor":"cli:ana"');
    expect(made.stderr).toContain('agent.pair_code.created');
    expect(made.stderr).not.toContain(code.replace('-', ''));

    const res = await fetch(`${t.server.url}/agent/v1/pair`, { method: 'POST', body: JSON.stringify({ code }) });
    const paired = (await res.json()) as { agentId: string; token: string; agentName: string };
    expect(paired.agentName).toBe('till 3');
    const first = await connectAgent(t.server.url, paired.token);
    await first.hello(['SN-CLI-1']);
    const closed = new Promise<number>((resolve) => first.ws.once('close', (c) => resolve(c)));

    const rotated = await cli(['agent', 'rotate-token', paired.agentId, '--operator', 'ana']);
    expect(rotated.code).toBe(0);
    const token = /token:\s+(\S+)/.exec(rotated.stdout)?.[1] ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await closed).toBe(CLOSE_CREDENTIALS_CHANGED);
    await expect(connectAgent(t.server.url, paired.token)).rejects.toThrow('HTTP 401');

    const second = await connectAgent(t.server.url, token);
    await second.hello(['SN-CLI-1']);
    const closedAgain = new Promise<number>((resolve) => second.ws.once('close', (c) => resolve(c)));
    const revoked = await cli(['agent', 'revoke', paired.agentId, '--reason', 'till replaced', '--operator', 'ana']);
    expect(revoked).toMatchObject({ code: 0 });
    expect(revoked.stdout).toContain('agent revoked');
    expect(revoked.stderr).toContain('agent.revoked');
    expect(await closedAgain).toBe(CLOSE_CREDENTIALS_CHANGED);
    await expect(connectAgent(t.server.url, token)).rejects.toThrow('HTTP 401');

    expect((await cli(['agent', 'revoke', paired.agentId])).stdout).toContain('was revoked already');
    const refused = await cli(['agent', 'rotate-token', paired.agentId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ADMIN_AGENT_REVOKED');
    expect((await cli(['agent', 'revoke', 'ag_nobody'])).stderr).toContain('ADMIN_AGENT_UNKNOWN');
    expect((await cli(['agent', 'revoke'])).code).toBe(2);
    const noStore = await cli(['agent', 'pair-code', '--merchant', 'nobody']);
    expect(noStore).toMatchObject({ code: 1 });
    expect(noStore.stderr).toContain('no merchant named "nobody"');
  }, 60_000);
});

describe('posbridge-server totals', () => {
  it('prints the day as text and CSV, in the zone asked for', async () => {
    const day = Date.UTC(2026, 11, 2);
    await approvedPayment(t.server.store, { paymentId: 'P1', id: 'pb_p1', createdAt: day + 4 * 3_600_000 });
    await approvedPayment(t.server.store, { paymentId: 'P2', id: 'pb_p2', createdAt: day + 5 * 3_600_000 });
    // 01:00 UTC on the 3rd is still the 2nd in São Paulo.
    await approvedPayment(t.server.store, { paymentId: 'P3', id: 'pb_p3', createdAt: day + 25 * 3_600_000 });

    const text = await cli(['totals', '--date', '2026-12-02']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('sto_bootstrap\tSN1\tBRL\tcredit\tapproved\t2\tBRL 63.80\t6380\n');
    const csv = await cli(['totals', '--date', '2026-12-02', '--tz', 'America/Sao_Paulo', '--csv']);
    expect(csv.stdout).toBe(
      'date,timeZone,storeId,serialNumber,currency,method,bucket,count,amountMinor\r\n' +
        '2026-12-02,America/Sao_Paulo,sto_bootstrap,SN1,BRL,credit,approved,3,9570\r\n',
    );
    expect((await cli(['totals', '--date', '2026-12-04'])).stdout).toContain('no terminal payments that day');
    const bad = await cli(['totals', '--date', '2026-13-01']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no such day');
    expect((await cli(['totals'])).code).toBe(2);
  }, 60_000);
});
