/** The OS user running a command line (the default `--operator` of ./cli.ts and ./cli-admin.ts). */
import { userInfo } from 'node:os';

/** The OS user running the command, or undefined when none is known. */
export function osUser(env: Record<string, string | undefined>): string | undefined {
  try {
    const name = userInfo().username.trim();
    if (name !== '') return name;
  } catch {
    // no passwd entry (containers): fall back to the environment
  }
  const fromEnv = (env['USER'] ?? env['LOGNAME'] ?? '').trim();
  return fromEnv === '' ? undefined : fromEnv;
}
