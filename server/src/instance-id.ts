/**
 * The name of one server instance (`POSBRIDGE_INSTANCE_ID`, ServerConfig `instanceId`): bound to
 * every log line of the process, answered by `/healthz`, and the key of a cluster's instance
 * registry (docs/deployment.md). Unique per running process; a restart may take a new one.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** What `POSBRIDGE_INSTANCE_ID` accepts: 1–64 of `A-Z a-z 0-9 . _ -`, a letter or digit first. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A fresh instance id, `<hostname>-<pid>-<4 random hex>`: the host name cut to what
 * {@link INSTANCE_ID_PATTERN} accepts (other characters become `-`, at most 40 of them; an empty
 * result becomes `posbridge`), so two processes of one host, or a restart that gets the same pid,
 * do not share an id.
 * @param host - @default the OS host name
 * @param pid - @default this process's id
 * @returns an id matching {@link INSTANCE_ID_PATTERN} (at most 40 + 1 + 10 + 1 + 4 characters).
 */
export function defaultInstanceId(host: string = hostname(), pid: number = process.pid): string {
  const cleaned = host
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 40);
  return `${cleaned === '' ? 'posbridge' : cleaned}-${pid}-${randomBytes(2).toString('hex')}`;
}
