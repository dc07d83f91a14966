/**
 * The lease owner of this process's workers when the configuration names no instance id
 * (ports/leases.ts): `<host>-<pid>-<random>`, made once per process, so two processes never
 * share one even on the same host, and operators can tell from a row which host holds it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

let processOwner: string | undefined;

/**
 * This process's default lease owner (the same string on every call), at most 64 + 1 + 10 + 1 + 12
 * characters (within ports/leases.ts `MAX_LEASE_OWNER_LENGTH`).
 */
export function defaultLeaseOwner(): string {
  processOwner ??= `${hostname().slice(0, 64) || 'host'}-${process.pid}-${randomBytes(6).toString('hex')}`;
  return processOwner;
}
