import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.ts';
import { hashAgentToken } from './hub/agent-tokens.ts';
import { startServer } from './main.ts';
import { openSqliteStore } from './adapters/sqlite/index.ts';
import { createPaymentBody, sinkLogger, tempDir, testEnv, AUTH_HEADERS } from './testing/helpers.ts';

const exec = promisify(execFile);
/** Runs a bin with its TypeScript sources (`--conditions=@posbridge/source` + tsx, docs/adr/0004). */
const run = (bin: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> =>
  exec(process.execPath, [...SOURCE_NODE_ARGS, bin, ...args], { ...options, encoding: 'utf8' });
const BIN = fileURLToPath(new URL('../bin/posbridge-server.js', import.meta.url));

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('posbridge-server CLI', () => {
  it('--help prints usage', async () => {
    const { stdout } = await run(BIN, ['--help']);
    expect(stdout).toContain('agent add --name NAME');
  }, 20_000);

  it('agent add prints a token once and stores only its hash', async () => {
    const db = join(tmp.dir, 'cli.sqlite');
    const { stdout } = await run(BIN, ['agent', 'add', '--name', 'front-desk', '--db', db]);
    const token = /token:\s+(\S+)/.exec(stdout)?.[1];
    const agentId = /agentId:\s+(\S+)/.exec(stdout)?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const store = await openSqliteStore({ filename: db });
    try {
      expect(await store.findAgentByTokenHash(hashAgentToken(token!))).toMatchObject({ agentId, name: 'front-desk' });
    } finally {
      await store.close();
    }
  }, 20_000);

  it('merchant add / store add / agent add --merchant / terminal list', async () => {
    const db = join(tmp.dir, 'admin.sqlite');
    const merchant = await run(BIN, ['merchant', 'add', '--name', 'acme', '--callback-mode', 'retry', '--db', db]);
    const appKey = /appKey:\s+(\S+)/.exec(merchant.stdout)?.[1];
    const appToken = /appToken:\s+(\S+)/.exec(merchant.stdout)?.[1];
    expect(appKey).toMatch(/^pbk_/);
    expect(appToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await run(BIN, ['store', 'add', '--merchant', 'acme', '--name', 'downtown', '--db', db]);
    const agent = await run(BIN, ['agent', 'add', '--name', 'till-1', '--merchant', 'acme', '--store', 'downtown', '--db', db]);
    const agentId = /agentId:\s+(\S+)/.exec(agent.stdout)?.[1];
    const store = await openSqliteStore({ filename: db });
    try {
      const m = await store.findMerchantByName('acme');
      expect(m).toMatchObject({ appKey, callbackMode: 'retry' });
      expect(JSON.stringify(m)).not.toContain(appToken!);
      expect(await store.agentOwner(agentId!)).toEqual({ merchantId: m!.merchantId, storeId: expect.stringMatching(/^sto_/) });
      await store.registerTerminal({ serialNumber: 'T-1', agentId: agentId!, lastSeenAt: 1 });
    } finally {
      await store.close();
    }
    const list = await run(BIN, ['terminal', 'list', '--merchant', 'acme', '--db', db]);
    expect(list.stdout).toMatch(/T-1\tacme\tdowntown\ttill-1\t/);
    await expect(run(BIN, ['store', 'add', '--merchant', 'nobody', '--name', 'x', '--db', db])).rejects.toMatchObject({ code: 1 });
  }, 30_000);

  it('merchant set --test-suite on|off switches the Test Suite mode, naming who did it; refuses bad usage', async () => {
    const db = join(tmp.dir, 'suite.sqlite');
    await run(BIN, ['merchant', 'add', '--name', 'acme', '--db', db]);
    const mode = async (): Promise<boolean | undefined> => {
      const store = await openSqliteStore({ filename: db });
      try {
        return (await store.findMerchantByName('acme'))?.testSuiteMode;
      } finally {
        await store.close();
      }
    };
    expect(await mode()).toBeUndefined();
    const on = await run(BIN, ['merchant', 'set', 'acme', '--test-suite', 'on', '--operator', 'ana', '--db', db]);
    expect(on.stdout).toMatch(/Test Suite mode on, by cli:ana at /);
    expect(await mode()).toBe(true);
    expect((await run(BIN, ['merchant', 'list', '--db', db])).stdout).toMatch(/acme\t\S+\tnotification\tapp:default\ttest-suite/);
    await run(BIN, ['merchant', 'set', 'acme', '--test-suite', 'off', '--operator', 'ana', '--db', db]);
    expect(await mode()).toBeUndefined();
    await expect(run(BIN, ['merchant', 'set', 'acme', '--test-suite', 'yes', '--db', db])).rejects.toMatchObject({ code: 2 });
    await expect(run(BIN, ['merchant', 'set', '--test-suite', 'on', '--db', db])).rejects.toMatchObject({ code: 2 });
    await expect(run(BIN, ['merchant', 'set', 'nobody', '--test-suite', 'on', '--db', db])).rejects.toMatchObject({ code: 1 });
  }, 30_000);

  it('merchant set --payment-app vendor.name|default picks the Payment App its payments open, naming who did it; refuses bad names', async () => {
    const db = join(tmp.dir, 'app.sqlite');
    await run(BIN, ['merchant', 'add', '--name', 'acme', '--db', db]);
    const app = async (): Promise<string | undefined> => {
      const store = await openSqliteStore({ filename: db });
      try {
        return (await store.findMerchantByName('acme'))?.paymentApp;
      } finally {
        await store.close();
      }
    };
    expect(await app()).toBeUndefined();
    const set = await run(BIN, ['merchant', 'set', 'acme', '--payment-app', 'acme.posbridge-pay', '--operator', 'ana', '--db', db]);
    expect(set.stdout).toMatch(/Payment App acme\.posbridge-pay, by cli:ana at /);
    expect(await app()).toBe('acme.posbridge-pay');
    expect((await run(BIN, ['merchant', 'list', '--db', db])).stdout).toMatch(/acme\t\S+\tnotification\tapp:acme\.posbridge-pay\n/);
    const bad = run(BIN, ['merchant', 'set', 'acme', '--payment-app', 'vtex.terminal-connector-app', '--db', db]);
    await expect(bad).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('use the default instead') });
    await expect(run(BIN, ['merchant', 'set', 'acme', '--payment-app', 'Acme.Pay', '--db', db])).rejects.toMatchObject({ code: 2 });
    await expect(run(BIN, ['merchant', 'set', 'acme', '--db', db])).rejects.toMatchObject({ code: 2 });
    expect(await app()).toBe('acme.posbridge-pay');
    const reset = await run(BIN, ['merchant', 'set', 'acme', '--payment-app', 'default', '--operator', 'ana', '--db', db]);
    expect(reset.stdout).toContain("Payment App default (VTEX's vtex.terminal-connector-app");
    expect(await app()).toBeUndefined();
  }, 30_000);

  it('terminal move gives a serial to another agent, audited; refuses unknown serials and agents, and needs a reason', async () => {
    const db = join(tmp.dir, 'move.sqlite');
    await run(BIN, ['merchant', 'add', '--name', 'acme', '--db', db]);
    const first = /agentId:\s+(\S+)/.exec((await run(BIN, ['agent', 'add', '--name', 'till-1', '--db', db])).stdout)?.[1];
    const second = /agentId:\s+(\S+)/.exec((await run(BIN, ['agent', 'add', '--name', 'acme-till', '--merchant', 'acme', '--db', db])).stdout)?.[1];
    let store = await openSqliteStore({ filename: db });
    try {
      await store.registerTerminal({ serialNumber: 'T-9', agentId: first!, lastSeenAt: 1 });
    } finally {
      await store.close();
    }
    const help = await run(BIN, ['--help']);
    expect(help.stdout).toContain('terminal move SERIAL --agent AGENT_ID --reason TEXT');
    await expect(run(BIN, ['terminal', 'move', 'T-9', '--agent', second!, '--db', db])).rejects.toMatchObject({ code: 2 });
    await expect(run(BIN, ['terminal', 'move', 'NOPE', '--agent', second!, '--reason', 'x', '--db', db])).rejects.toMatchObject({ code: 1 });
    await expect(run(BIN, ['terminal', 'move', 'T-9', '--agent', 'ag_nope', '--reason', 'x', '--db', db])).rejects.toMatchObject({ code: 1 });
    const moved = await run(BIN, ['terminal', 'move', 'T-9', '--agent', second!, '--reason', 'terminal sold to acme', '--db', db]);
    expect(moved.stdout).toContain('terminal moved');
    store = await openSqliteStore({ filename: db });
    try {
      expect(await store.findTerminal('T-9')).toMatchObject({ agentId: second });
      expect((await store.listTerminalEvents('T-9')).at(-1)).toMatchObject({
        type: 'moved',
        fromAgentId: first,
        toAgentId: second,
        actor: expect.stringMatching(/^cli:/),
        reason: 'terminal sold to acme',
      });
    } finally {
      await store.close();
    }
    const list = await run(BIN, ['terminal', 'list', '--merchant', 'acme', '--db', db]);
    expect(list.stdout).toMatch(new RegExp(`T-9\tacme\tdefault\tacme-till\t\\S+\t${second}`));
  }, 40_000);

  it('importing cli.ts runs nothing (the process entry is cli-main.ts)', async () => {
    const written: string[] = [];
    const exitCode = process.exitCode;
    const write = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const out = process.stdout.write;
    const err = process.stderr.write;
    process.stdout.write = write;
    process.stderr.write = write;
    try {
      const cli = await import('./cli.ts');
      expect(typeof cli.runCli).toBe('function');
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
    expect(written).toEqual([]);
    expect(process.exitCode).toBe(exitCode);
  });

  it('every command opens its store by POSBRIDGE_STORE: an unknown kind exits 1 with CFG_INVALID, nothing created', async () => {
    const db = join(tmp.dir, 'kind.sqlite');
    const env = { PATH: process.env['PATH'] ?? '', POSBRIDGE_STORE: 'nope' };
    const added = await run(BIN, ['agent', 'add', '--name', 'x', '--db', db], { env }).catch((e: unknown) => e);
    expect(added).toMatchObject({ code: 1 });
    expect((added as { stderr: string }).stderr).toContain('agent add failed: CFG_INVALID: configuration is invalid');
    expect((added as { stderr: string }).stderr).toContain('POSBRIDGE_STORE: unknown store kind "nope" (known: sqlite, memory, postgres)');
    const served = await run(BIN, ['run'], { env: { ...env, ...testEnv(db), POSBRIDGE_STORE: 'nope' } }).catch((e: unknown) => e);
    expect(served).toMatchObject({ code: 1 });
    expect((served as { stderr: string }).stderr).toContain('POSBRIDGE_STORE: unknown store kind "nope" (known: sqlite, memory, postgres)');
    expect(existsSync(db)).toBe(false);
  }, 20_000);

  it('an administration command refuses POSBRIDGE_STORE=memory (the data is inside the server process)', async () => {
    const env = { PATH: process.env['PATH'] ?? '', POSBRIDGE_STORE: 'memory' };
    const added = await run(BIN, ['agent', 'add', '--name', 'x'], { env }).catch((e: unknown) => e);
    expect(added).toMatchObject({ code: 1 });
    expect((added as { stderr: string }).stderr).toContain('agent add failed: CFG_INVALID: POSBRIDGE_STORE=memory keeps the data inside the server process');
  }, 20_000);

  it('run with bad config exits 1 listing every problem', async () => {
    const err = await run(BIN, ['run'], { env: { PATH: process.env['PATH'] ?? '' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/POSBRIDGE_APP_KEY[\s\S]*POSBRIDGE_CALLBACK_APP_TOKEN/);
  }, 20_000);
});

describe('generated submit secret', () => {
  it('persists across restarts, so submitUrls stay valid', async () => {
    const env = testEnv(join(tmp.dir, 'secret.sqlite'));
    const submitUrlOnce = async () => {
      const server = await startServer({ config: loadServerConfig(env), logger: sinkLogger().logger });
      try {
        const res = await fetch(`${server.url}/payments`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
          body: JSON.stringify(createPaymentBody({ paymentId: 'SEC1' })),
        });
        const body = (await res.json()) as { paymentAppData: { payload: string } };
        return new URL((JSON.parse(body.paymentAppData.payload) as { submitUrl: string }).submitUrl).pathname;
      } finally {
        await server.close();
      }
    };
    expect(await submitUrlOnce()).toBe(await submitUrlOnce());
  });
});
