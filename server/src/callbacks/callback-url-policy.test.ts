import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  checkCallbackUrl,
  isCallbackHostRefused,
  isPublicAddress,
  parseAllowHosts,
  parseHostSuffixes,
  pinnedLookup,
  screenCallbackUrl,
  type CallbackHostPolicy,
  type HostResolver,
} from './callback-url-policy.ts';

const policy: CallbackHostPolicy = {
  hostSuffixes: ['vtexpayments.com.br'],
  allowHosts: parseAllowHosts('127.0.0.1, localhost:8080,[::1]').hosts,
};

describe('checkCallbackUrl', () => {
  it.each([
    'https://gatewayqa.vtexpayments.com.br/api/pvt/payment-provider/transactions/T/payments/P/callback?accountName=a&X-VTEX-signature=s',
    'https://coinshop.vtexpayments.com.br/payment-provider/transactions/T/payments/P/notification',
    'https://GatewayQA.VTEXpayments.com.br:443/x',
    'https://gatewayqa.vtexpayments.com.br./x',
  ])('allows %s', (url) => {
    expect(checkCallbackUrl(url, policy)).toMatchObject({ ok: true, allowlisted: false });
  });

  it.each([
    ['http://127.0.0.1:4000/cb', true],
    ['https://127.0.0.1/cb', true],
    ['http://2130706433:4000/cb', true], // the same address as 127.0.0.1, spelled in decimal
    ['http://localhost:8080/cb', true],
    ['http://localhost:8081/cb', false], // the entry names port 8080
    ['http://[::1]:4000/cb', true],
    ['http://127.0.0.2/cb', false],
  ])('allowlist: %s → %s', (url, allowed) => {
    const verdict = checkCallbackUrl(url, policy);
    expect(verdict.ok).toBe(allowed);
    if (verdict.ok) expect(verdict.allowlisted).toBe(true);
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/', 'IP address'],
    ['https://[::ffff:a9fe:a9fe]/', 'IP address'],
    ['https://0xA9FEA9FE/', 'IP address'],
    ['https://0251.254.169.254/', 'IP address'],
    ['https://[fd00:ec2::254]/', 'IP address'],
    ['https://metadata.google.internal/', 'only https hosts under vtexpayments.com.br'],
    ['https://vtexpayments.com.br.attacker.example/', 'only https hosts under'],
    ['https://attackervtexpayments.com.br/', 'only https hosts under'],
    ['http://x.vtexpayments.com.br/', 'https'],
    ['https://x.vtexpayments.com.br:444/', 'port 443'],
    ['https://u:p@x.vtexpayments.com.br/', 'user info'],
    ['ftp://x.vtexpayments.com.br/', 'https URL'],
    ['not a url', 'absolute URL'],
  ])('refuses %s (%s)', (url, why) => {
    const verdict = checkCallbackUrl(url, policy);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toContain(why);
  });
});

describe('isPublicAddress', () => {
  it.each([
    ['52.67.10.20', true],
    ['2606:4700::1111', true],
    ['8.8.8.8', true],
    ['169.254.169.254', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['127.0.0.1', false],
    ['0.0.0.0', false],
    ['100.100.100.200', false], // carrier-grade NAT (a cloud metadata address)
    ['255.255.255.255', false],
    ['224.0.0.1', false],
    ['192.0.2.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00:ec2::254', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['64:ff9b::a9fe:a9fe', false], // NAT64 of the metadata address
    ['2002:a9fe:a9fe::1', false], // 6to4 of the metadata address
    ['::a9fe:a9fe', false], // IPv4-compatible (deprecated ::/96) form of the metadata address
    ['::a00:1', false], // IPv4-compatible 10.0.0.1
    ['::7f00:1', false], // IPv4-compatible 127.0.0.1
    ['::1:2:3:4', false], // outside global unicast 2000::/3
    ['2a00:1450:4001:80b::200e', true],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('settings', () => {
  it('parses allowlist entries and reports the bad ones', () => {
    expect(parseAllowHosts('127.0.0.1,localhost:3000, [::1]:80 ,,Example.COM')).toEqual({
      hosts: [
        { host: '127.0.0.1', port: null },
        { host: 'localhost', port: 3000 },
        { host: '[::1]', port: 80 },
        { host: 'example.com', port: null },
      ],
      problems: [],
    });
    expect(parseAllowHosts('http://x,a/b,h:0,h:99999,u@h').problems).toHaveLength(5);
  });

  it('parses suffixes and refuses IPs and single labels', () => {
    expect(parseHostSuffixes('vtexpayments.com.br, .vtexpayments.com').suffixes).toEqual(['vtexpayments.com.br', 'vtexpayments.com']);
    expect(parseHostSuffixes('10.0.0.1,localhost,com,a/b').problems).toHaveLength(4);
  });
});

/** Calls a lookup the way `net.connect` does with `autoSelectFamily` (all: true). */
function lookupAll(lookup: ReturnType<typeof pinnedLookup>, hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses as LookupAddress[])));
  });
}

describe('pinnedLookup', () => {
  it('hands the socket exactly the addresses it checked, and refuses when a later answer points inside', async () => {
    const answers = [
      [{ address: '52.67.10.20', family: 4 as const }],
      [{ address: '127.0.0.1', family: 4 as const }],
    ];
    const resolver: HostResolver = async () => answers.shift() ?? [];
    const lookup = pinnedLookup(resolver);
    expect(await lookupAll(lookup, 'gw.vtexpayments.com.br')).toEqual([{ address: '52.67.10.20', family: 4 }]);
    const refused = await lookupAll(lookup, 'gw.vtexpayments.com.br').catch((err: unknown) => err);
    expect(isCallbackHostRefused(refused)).toBe(true);
  });

  it('answers the single-address form, by family', async () => {
    const lookup = pinnedLookup(async () => [
      { address: '52.67.10.20', family: 4 },
      { address: '2606:4700::1111', family: 6 },
    ]);
    const one = await new Promise<[string, number | undefined]>((resolve, reject) =>
      lookup('gw.vtexpayments.com.br', { family: 6 }, (err, address, family) => (err ? reject(err) : resolve([address as string, family]))),
    );
    expect(one).toEqual(['2606:4700::1111', 6]);
  });
});

describe('screenCallbackUrl', () => {
  const resolver: HostResolver = async (hostname) => {
    if (hostname === 'inside.vtexpayments.com.br') return [{ address: '10.0.0.7', family: 4 }];
    if (hostname === 'gw.vtexpayments.com.br') return [{ address: '52.67.10.20', family: 4 }];
    throw Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' });
  };

  it('refuses a name resolving inside, accepts a public one, lets an unresolvable one through flagged', async () => {
    expect(await screenCallbackUrl('https://inside.vtexpayments.com.br/cb', policy, resolver)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('10.0.0.7'),
    });
    expect(await screenCallbackUrl('https://gw.vtexpayments.com.br/cb', policy, resolver)).toEqual({ ok: true, allowlisted: false });
    expect(await screenCallbackUrl('https://slow.vtexpayments.com.br/cb', policy, resolver)).toEqual({
      ok: true,
      allowlisted: false,
      unresolved: 'ETIMEOUT',
    });
    // Allowlisted hosts are not resolved at all.
    expect(await screenCallbackUrl('http://localhost:8080/cb', policy, resolver)).toEqual({ ok: true, allowlisted: true });
  });
});
