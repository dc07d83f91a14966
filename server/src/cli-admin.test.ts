/**
 * `posbridge-server user …` and `token …` (./cli-admin.ts) on a SQLite file: secrets printed
 * once and kept only hashed, passwords that log in, revocation, usage errors, the audit rows.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteStore } from './adapters/sqlite/index.ts';
import { secretHash } from './admin/credentials.ts';
import { verifyPassword } from './admin/passwords.ts';
import { runCli } from './cli.ts';
import { tempDir } from './testing/helpers.ts';

let tmp: ReturnType<typeof tempDir>;
let db: string;
beforeEach(() => {
  tmp = tempDir();
  db = join(tmp.dir, 'admin-cli.sqlite');
});
afterEach(() => tmp.cleanup());

/** Runs the CLI in this process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await runCli([...args, '--db', db, '--operator', 'ops-anna'], {}, () => 1_700_000_000_000);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('posbridge-server user / token', () => {
  it('adds a user with a generated password shown once, lists and disables it, audited as cli:<os user>', async () => {
    const added = await cli('user', 'add', '--name', 'ana', '--role', 'operator');
    expect(added.code).toBe(0);
    const password = /password: (\S+)/.exec(added.out)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const listed = await cli('user', 'list');
    expect(listed.out).toMatch(/^ana\toperator\t\*\tactive\t2023-11-14T22:13:20.000Z\tusr_/m);
    expect(listed.out).not.toContain('scrypt');
    expect((await cli('user', 'disable', 'ana')).code).toBe(2);
    expect((await cli('user', 'disable', 'ana', '--reason', 'left')).code).toBe(0);
    expect((await cli('user', 'disable', 'nobody', '--reason', 'x')).code).toBe(1);
    const store = await openSqliteStore({ filename: db });
    try {
      const user = await store.findUserByName('ana');
      expect(user).toMatchObject({ role: 'operator', disabled: true, merchantId: null });
      expect(await verifyPassword(password!, user!.passwordHash)).toBe(true);
      expect(user!.passwordHash).not.toContain(password);
      expect((await store.listAudit(10)).map((e) => `${e.actor} ${e.action} ${e.target}`)).toEqual(['cli:ops-anna user.disable ana', 'cli:ops-anna user.add ana']);
    } finally {
      await store.close();
    }
  });

  it('issues a token shown once and kept as its hash, lists it without the secret, revokes it', async () => {
    const added = await cli('token', 'add', '--name', 'nightly export', '--role', 'viewer', '--expires-days', '30');
    expect(added.code).toBe(0);
    const token = /token:\s+(pbk_\S+)/.exec(added.out)?.[1];
    const id = /id:\s+(tok_\S+)/.exec(added.out)?.[1];
    expect(token).toMatch(/^pbk_[A-Za-z0-9_-]{43}$/);
    const listed = await cli('token', 'list');
    expect(listed.out).toContain(`${id!}\tnightly export\tviewer\t*\t2023-11-14T22:13:20.000Z\t2023-12-14T22:13:20.000Z\t-`);
    expect(listed.out).not.toContain(token);
    expect((await cli('token', 'revoke', id!, '--reason', 'rotated')).code).toBe(0);
    expect((await cli('token', 'revoke', id!, '--reason', 'again')).code).toBe(1);
    const store = await openSqliteStore({ filename: db });
    try {
      expect(await store.findCredentialByHash(secretHash(token!))).toMatchObject({ credentialId: id, role: 'viewer', revokedAt: 1_700_000_000_000 });
    } finally {
      await store.close();
    }
  });

  it('audits the other admin commands too (merchant, store, agent), as cli:<operator>', async () => {
    expect((await cli('merchant', 'add', '--name', 'loja')).code).toBe(0);
    expect((await cli('store', 'add', '--merchant', 'loja', '--name', 'centro')).code).toBe(0);
    expect((await cli('agent', 'add', '--name', 'caixa', '--merchant', 'loja', '--store', 'centro')).code).toBe(0);
    const store = await openSqliteStore({ filename: db });
    try {
      expect((await store.listAudit(10)).map((e) => `${e.actor} ${e.action} ${e.reason} ${e.at}`)).toEqual([
        'cli:ops-anna agent.add caixa 1700000000000',
        'cli:ops-anna store.add centro 1700000000000',
        'cli:ops-anna merchant.add loja 1700000000000',
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses bad usage with exit 2 and prints help', async () => {
    expect((await cli('user', 'add', '--name', 'bad name', '--role', 'viewer')).code).toBe(2);
    expect((await cli('user', 'add', '--name', 'ok', '--role', 'root')).code).toBe(2);
    expect((await cli('token', 'add', '--name', 'x', '--role', 'viewer', '--expires-days', '0')).code).toBe(2);
    expect((await cli('token', 'add', '--role', 'viewer')).code).toBe(2);
    expect((await cli('token', 'fly')).code).toBe(2);
    expect((await cli('user', 'add', '--name', 'x', '--role', 'admin', '--merchant', 'nobody')).code).toBe(1);
    const help = await cli('user', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('posbridge-server token add --name LABEL');
  });
});
