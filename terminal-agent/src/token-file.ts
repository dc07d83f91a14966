/**
 * The agent's token file (terminal-agent/README.md "Pairing"): one line holding the bearer token,
 * readable by its owner only (mode 0600), as `posbridge-agent pair` writes it. Named by `tokenFile`
 * in the config file (relative to that file) or `POSBRIDGE_AGENT_TOKEN_FILE`; a token given
 * directly (`POSBRIDGE_AGENT_TOKEN`, `token`) wins over it.
 */
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';

/** Longest token read, characters (the server's are 43). */
const MAX_TOKEN_LENGTH = 512;

/**
 * Reads the token of `path`.
 * @returns the token, or the problem to report (missing file, readable by others, empty, too long).
 */
export function readTokenFile(path: string): { token: string } | { problem: string } {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { problem: `token file ${path}: ${(err as Error).message}` };
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    return { problem: `token file ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${path}` };
  }
  const token = text.trim();
  if (token === '' || token.length > MAX_TOKEN_LENGTH || /\s/.test(token)) return { problem: `token file ${path} must hold one token on one line` };
  return { token };
}

/**
 * Writes `text` to `path` readable and writable by the owner only: a temporary file created with
 * mode 0600 beside it, then renamed over `path` (a reader never sees half a file, and an older
 * file's wider mode does not survive).
 */
export function writePrivateFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
