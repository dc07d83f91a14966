/**
 * Runs `posbridge-homologate` as the workspace installed it (node_modules/.bin, a link to
 * homologate/bin/), from the TypeScript sources (docs/adr/0004), for the e2e suites.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The bin as npm installed it in the workspace. */
export const HOMOLOGATE_BIN = join(ROOT, 'node_modules', '.bin', 'posbridge-homologate');

/** Runs the bin to its end: exit code, stdout, stderr. */
export function runHomologate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, HOMOLOGATE_BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

