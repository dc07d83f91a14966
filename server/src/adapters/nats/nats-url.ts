/**
 * `POSBRIDGE_NATS_URL`: one NATS server or a comma-separated list of the servers of one NATS
 * cluster, each `nats://[user[:password]@]host[:port]`, `tls://…` (TLS required) or a bare
 * `host[:port]` (port 4222 when omitted, as the NATS URL convention of
 * https://docs.nats.io/using-nats/developer/connecting).
 *
 * The NATS client itself reads no credentials out of a server URL (it keeps host and port only),
 * so they are lifted out here into the client's `user`/`pass` options (`user` alone is a token,
 * as in the `nats` CLI's `nats://token@host` form). Every URL of the list must carry the same
 * credentials, or none. {@link redactNatsUrl} is what logs show: the credentials become `***`.
 *
 * Pure: no I/O, so configuration validation (../../config.ts) uses it too.
 */

/** The connection settings of a parsed `POSBRIDGE_NATS_URL`. */
export interface NatsServers {
  /** `host:port` of every server, in the given order. */
  readonly servers: readonly string[];
  /** User and password, when the URLs carry both. */
  readonly user?: string;
  readonly pass?: string;
  /** Token, when the URLs carry a user name alone. */
  readonly token?: string;
  /** True when a URL said `tls://`: the client then requires TLS. */
  readonly tls: boolean;
}

/** Most servers in one list (a NATS cluster is a handful of servers). */
const MAX_SERVERS = 32;
/** Longest accepted value (a list of 32 long URLs fits). */
const MAX_LENGTH = 8192;

/**
 * Parses a `POSBRIDGE_NATS_URL` value.
 * @returns the servers and credentials, or the problems found (never including a credential).
 */
export function parseNatsUrl(raw: string): { ok: true; value: NatsServers } | { ok: false; problems: string[] } {
  if (raw.length > MAX_LENGTH) return { ok: false, problems: [`longer than ${MAX_LENGTH} characters`] };
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) return { ok: false, problems: ['names no server'] };
  if (entries.length > MAX_SERVERS) return { ok: false, problems: [`names more than ${MAX_SERVERS} servers`] };
  const problems: string[] = [];
  const servers: string[] = [];
  let credentials: string | undefined;
  let auth: { user: string; pass: string } | { token: string } | Record<string, never> = {};
  let tls = false;
  entries.forEach((entry, index) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `nats://${entry}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      problems.push(`server ${index + 1} is not a URL`);
      return;
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
      problems.push(`server ${index + 1}: scheme must be nats:// or tls://`);
      return;
    }
    if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      problems.push(`server ${index + 1} must be scheme://[credentials@]host[:port] only`);
      return;
    }
    if (url.protocol === 'tls:') tls = true;
    const userInfo = url.username === '' ? '' : `${url.username}:${url.password}`;
    if (index === 0) {
      credentials = userInfo;
      const user = decodeUserInfo(url.username);
      const pass = decodeUserInfo(url.password);
      auth = user === '' ? {} : pass === '' ? { token: user } : { user, pass };
    } else if (userInfo !== credentials) problems.push(`server ${index + 1} carries other credentials than server 1`);
    servers.push(`${url.hostname}:${url.port === '' ? '4222' : url.port}`);
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { servers, tls, ...auth } };
}

/** `raw` with the credentials of every URL replaced by `***` (for logs and the config line). */
export function redactNatsUrl(raw: string): string {
  return raw.replace(/([a-z][a-z0-9+.-]*:\/\/)?[^,@/\s]*@/gi, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/** A percent-encoded user-info part, decoded (kept as written when its escapes are malformed). */
function decodeUserInfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
