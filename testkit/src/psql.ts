/**
 * SQL through the machine's `psql` client (from the same PostgreSQL binaries as
 * {@link postgresBinDir}, falling back to `psql` on PATH): what the cluster stack uses to create
 * its database and the cluster soak to read every row back, without the test kit holding a
 * PostgreSQL driver of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { postgresBinDir } from './services.ts';
import { findOnPath } from './system-programs.ts';

/** The `psql` binary. @throws Error when there is none. */
function psqlPath(): string {
  const dir = postgresBinDir();
  const candidate = dir === undefined ? undefined : join(dir, 'psql');
  const found = candidate !== undefined && existsSync(candidate) ? candidate : findOnPath('psql', process.env['PATH']);
  if (found === undefined) throw new Error('psql not found (Debian package "postgresql-client")');
  return found;
}

/**
 * Runs one SQL statement on `url` and returns its rows as arrays of text cells (tab-separated
 * unaligned output; NULL is the empty string). Bounded by `timeoutMs`.
 * @throws Error with psql's message when the statement fails, the server is unreachable or it takes longer than `timeoutMs`.
 */
export function psql(url: string, sql: string, timeoutMs = 15_000): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const child = spawn(psqlPath(), ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 4096) err += c.toString('utf8');
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')));
      else reject(new Error(`psql failed (${signal ?? code}) on ${JSON.stringify(sql.slice(0, 80))}: ${err.trim()}`));
    });
  });
}
