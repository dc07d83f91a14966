/**
 * Which `callbackUrl`s posbridge calls. A callback carries the partner's AppKey/AppToken, so it
 * goes only where VTEX's payment gateway lives, never to an address inside our own network:
 *
 * - By default a callback URL must be `https` on port 443, its host a DNS name under one of the
 *   configured suffixes (`POSBRIDGE_CALLBACK_HOST_SUFFIXES`, default `vtexpayments.com.br`, the
 *   gateway host of VTEX's `callbackUrl` examples), without user info. IP literals in any
 *   spelling (decimal `2130706433`, octal, hex, IPv6, IPv4-mapped IPv6) are refused: the WHATWG
 *   URL parser turns every such spelling into its canonical address, which is never a name.
 * - The host must resolve to public unicast addresses only: private, loopback, link-local (the
 *   cloud metadata address 169.254.169.254 among them), carrier-grade NAT, unique-local,
 *   multicast, reserved and IPv4-in-IPv6 forms are refused ({@link isPublicAddress}). This is
 *   checked when Create Payment accepts the URL and again at every delivery, where the
 *   connection is made to exactly the addresses that were checked ({@link pinnedLookup}), so a
 *   DNS answer that changes between check and connect (DNS rebinding) cannot redirect it.
 * - Entries of `POSBRIDGE_CALLBACK_ALLOW_HOSTS` (`host[:port]`, e.g. `127.0.0.1,localhost`) are
 *   allowed over `http` or `https` whatever they resolve to: local testing (demo, `npm run
 *   stack`, tests) and deliberate operator exceptions.
 *
 * @see docs/ppp.md "Callbacks" (the rules) and server/README.md (the settings)
 * @see https://developers.vtex.com/docs/api-reference/payment-provider-protocol#post-/payments (`callbackUrl`)
 */
import { Resolver } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** One `POSBRIDGE_CALLBACK_ALLOW_HOSTS` entry. */
export interface AllowedCallbackHost {
  /** Host as the URL parser spells it: lowercase name, dotted IPv4, or `[IPv6]`. */
  readonly host: string;
  /** Port the entry is limited to; null = any port. */
  readonly port: number | null;
}

/** The callback host policy (part of the callback configuration). */
export interface CallbackHostPolicy {
  /** DNS suffixes (lowercase, no leading or trailing dot) whose hosts may be called over https:443. */
  readonly hostSuffixes: readonly string[];
  /** Hosts always allowed, over http or https, without address checks. */
  readonly allowHosts: readonly AllowedCallbackHost[];
}

/** What {@link checkCallbackUrl} decided. */
export type CallbackUrlVerdict =
  | {
      readonly ok: true;
      readonly url: URL;
      /** Matched an allowlist entry: no address checks. */
      readonly allowlisted: boolean;
    }
  | { readonly ok: false; readonly reason: string };

/** One resolved address of a host. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Resolves a host name to its addresses (both families). Rejects with a Node DNS error
 * (`code` ENOTFOUND, ETIMEOUT, …) when it cannot resolve it.
 */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** `code` of the error {@link pinnedLookup} and {@link screenCallbackUrl} report for a refused address. */
export const CALLBACK_HOST_REFUSED = 'ERR_CALLBACK_HOST_REFUSED';

/** Error of a host that resolves to an address the policy refuses. */
export class CallbackHostRefusedError extends Error {
  /** Always {@link CALLBACK_HOST_REFUSED}. */
  readonly code = CALLBACK_HOST_REFUSED;
  constructor(hostname: string, address: string) {
    super(`callback host ${JSON.stringify(hostname)} resolves to ${address}, which is not a public address`);
    this.name = 'CallbackHostRefusedError';
  }
}

/** True when `err` is a {@link CallbackHostRefusedError} (matched on `code`, CONTRIBUTING.md "Errors"). */
export function isCallbackHostRefused(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === CALLBACK_HOST_REFUSED;
}

/** Canonical host of `host` as the URL parser spells it, or null when it is no host. */
function canonicalHost(host: string): string | null {
  try {
    const url = new URL(`http://${host}/`);
    return url.hostname === '' ? null : url.hostname;
  } catch {
    return null;
  }
}

/**
 * Parses `POSBRIDGE_CALLBACK_ALLOW_HOSTS`: comma-separated `host[:port]` entries (IPv6 in
 * brackets, `[::1]:8080`). Empty entries are ignored.
 * @returns the entries, and one message per entry that is not a host[:port].
 */
export function parseAllowHosts(raw: string): { hosts: AllowedCallbackHost[]; problems: string[] } {
  const hosts: AllowedCallbackHost[] = [];
  const problems: string[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]/\\@?#\s]+)(?::(\d{1,5}))?$/.exec(entry);
    const host = m?.[1] === undefined ? null : canonicalHost(m[1]);
    const port = m?.[2] === undefined ? null : Number(m[2]);
    if (host === null || (port !== null && (port < 1 || port > 65535))) {
      problems.push(`${JSON.stringify(entry)} is not a host[:port]`);
      continue;
    }
    hosts.push({ host, port });
  }
  return { hosts, problems };
}

/**
 * Parses `POSBRIDGE_CALLBACK_HOST_SUFFIXES`: comma-separated DNS suffixes (a leading dot is
 * dropped). IP addresses and single labels are refused: a suffix must be a registered domain.
 * @returns the lowercase suffixes, and one message per bad entry.
 */
export function parseHostSuffixes(raw: string): { suffixes: string[]; problems: string[] } {
  const suffixes: string[] = [];
  const problems: string[] = [];
  for (const entry of raw.split(',').map((e) => e.trim().replace(/^\./, '')).filter((e) => e !== '')) {
    const host = canonicalHost(entry);
    const isName = host !== null && host === entry.toLowerCase() && !ipaddr.isValid(host) && !host.startsWith('[');
    if (!isName || !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host)) {
      problems.push(`${JSON.stringify(entry)} is not a domain name suffix`);
      continue;
    }
    suffixes.push(host);
  }
  return { suffixes, problems };
}

/** The port a URL connects to. */
function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** True for a URL hostname that is an IP address (IPv6 comes in brackets). */
function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || ipaddr.IPv4.isValidFourPartDecimal(hostname);
}

/**
 * The static part of the policy: scheme, user info, host and port of `raw`, no DNS.
 * The reason of a refusal names the host and the rule, for the Create Payment 400 and logs.
 */
export function checkCallbackUrl(raw: string, policy: CallbackHostPolicy): CallbackUrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'must be an https URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not carry user info' };
  const hostname = url.hostname;
  const port = effectivePort(url);
  if (policy.allowHosts.some((h) => h.host === hostname && (h.port === null || h.port === port))) {
    return { ok: true, url, allowlisted: true };
  }
  const refused = (rule: string): CallbackUrlVerdict => ({
    ok: false,
    reason: `host ${JSON.stringify(url.host)} is not allowed: ${rule} (POSBRIDGE_CALLBACK_HOST_SUFFIXES / POSBRIDGE_CALLBACK_ALLOW_HOSTS)`,
  });
  const suffixes = policy.hostSuffixes.join(', ') || '(none configured)';
  if (isIpLiteral(hostname)) return refused(`an IP address is not a payment gateway host; only https hosts under ${suffixes} are called`);
  const name = hostname.replace(/\.$/, '');
  if (!policy.hostSuffixes.some((s) => name === s || name.endsWith(`.${s}`))) {
    return refused(`only https hosts under ${suffixes} are called`);
  }
  if (url.protocol !== 'https:') return refused('callbacks to the payment gateway use https');
  if (port !== 443) return refused('callbacks to the payment gateway use port 443');
  return { ok: true, url, allowlisted: false };
}

/** IPv6 global unicast (RFC 4291 §2.4): every public IPv6 address of a gateway is in it. */
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * True when `address` (an IPv4 or IPv6 address as DNS returns it) is public unicast: not
 * private, loopback, link-local, unspecified, broadcast, multicast, carrier-grade NAT,
 * unique-local, reserved, documentation, benchmarking, nor an IPv4 embedding (IPv4-mapped
 * addresses are judged as their IPv4; NAT64, 6to4 and Teredo are refused). An IPv6 address
 * must also be global unicast (2000::/3), which refuses the deprecated IPv4-compatible form
 * `::a.b.c.d` (`::a9fe:a9fe`) that ipaddr.js files as plain unicast. Unparsable → false.
 */
export function isPublicAddress(address: string): boolean {
  try {
    const parsed = ipaddr.process(address);
    if (parsed.kind() === 'ipv6' && !parsed.match(IPV6_GLOBAL_UNICAST)) return false;
    return parsed.range() === 'unicast';
  } catch {
    return false;
  }
}

/**
 * The system's DNS (c-ares, `/etc/resolv.conf`; it does not occupy libuv's thread pool, which
 * SQLite uses), both families, each query bounded by `timeoutMs` and `tries`.
 */
export function systemResolver(options: { timeoutMs: number; tries: number }): HostResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries });
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
    const addresses: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (addresses.length > 0) return addresses;
    throw v4.status === 'rejected' ? v4.reason : new Error(`no address for ${hostname}`);
  };
}

/**
 * Resolves `hostname` and checks every address.
 * @returns the addresses, all public.
 * @throws CallbackHostRefusedError when any address is not public; the resolver's error when
 *   it cannot resolve.
 */
export async function resolvePublicAddresses(hostname: string, resolve: HostResolver): Promise<readonly ResolvedAddress[]> {
  const addresses = await resolve(hostname.replace(/\.$/, ''));
  if (addresses.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
  // One private address among public ones is refused too: no reason for a gateway host to have one.
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad) throw new CallbackHostRefusedError(hostname, bad.address);
  return addresses;
}

/**
 * A `lookup` for `http(s).request` / `net.connect` that resolves with `resolve`, refuses the
 * host unless every address is public ({@link CallbackHostRefusedError}), and hands the socket
 * exactly the checked addresses: the connection is pinned to what was checked.
 */
export function pinnedLookup(resolve: HostResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolvePublicAddresses(hostname, resolve).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = family === undefined ? addresses : addresses.filter((a) => a.family === family);
        const first = usable[0];
        if (first === undefined) {
          callback(Object.assign(new Error(`no IPv${family ?? ''} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
        } else if (options.all === true) {
          callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, '', 4),
    );
  };
}

/** What {@link screenCallbackUrl} found. */
export type CallbackUrlScreening =
  | { readonly ok: true; readonly allowlisted: boolean; /** DNS could not answer now; the delivery checks again. */ readonly unresolved?: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The whole policy for a new payment's `callbackUrl` (Create Payment): the static rules, then
 * the host's addresses. A host that cannot be resolved right now (DNS down, time-out) is not
 * refused, since every delivery resolves and checks again; `unresolved` says why.
 */
export async function screenCallbackUrl(raw: string, policy: CallbackHostPolicy, resolve: HostResolver): Promise<CallbackUrlScreening> {
  const verdict = checkCallbackUrl(raw, policy);
  if (!verdict.ok) return verdict;
  if (verdict.allowlisted) return { ok: true, allowlisted: true };
  try {
    await resolvePublicAddresses(verdict.url.hostname, resolve);
    return { ok: true, allowlisted: false };
  } catch (err) {
    if (isCallbackHostRefused(err)) return { ok: false, reason: (err as Error).message };
    const code = (err as { code?: unknown }).code;
    return { ok: true, allowlisted: false, unresolved: typeof code === 'string' ? code : String(err) };
  }
}

/** The policy bound to its configuration and resolver, for Create Payment. */
export interface CallbackUrlGuard {
  /** The static rules only ({@link checkCallbackUrl}). */
  check(raw: string): CallbackUrlVerdict;
  /** The static rules and the host's addresses ({@link screenCallbackUrl}). */
  screen(raw: string): Promise<CallbackUrlScreening>;
}

/** Binds {@link checkCallbackUrl} and {@link screenCallbackUrl} to `policy` and `resolve`. */
export function createCallbackUrlGuard(policy: CallbackHostPolicy, resolve: HostResolver): CallbackUrlGuard {
  return {
    check: (raw) => checkCallbackUrl(raw, policy),
    screen: (raw) => screenCallbackUrl(raw, policy, resolve),
  };
}
