import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.ts';
import { hashAgentToken } from './hub/agent-tokens.ts';
import { startServer } from './main.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import { createPaymentBody, sinkLogger, tempDir, testEnv, AUTH_HEADERS } from './testing/helpers.ts';

const run = promisify(execFile);
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
