import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_SETTINGS, loadServerConfig, redactConfig, resolveStoreSettings } from './config.ts';
import { INSTANCE_ID_PATTERN, defaultInstanceId } from './instance-id.ts';
import { testEnv } from './testing/helpers.ts';

describe('loadServerConfig', () => {
  const required = {
    POSBRIDGE_APP_KEY: 'k',
    POSBRIDGE_APP_TOKEN: 't',
    POSBRIDGE_CALLBACK_APP_KEY: 'ck',
    POSBRIDGE_CALLBACK_APP_TOKEN: 'ct',
  };

  it('applies defaults and deep-freezes', () => {
    const c = loadServerConfig(required);
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dbPath: './posbridge.sqlite',
      publicUrl: undefined,
      secondsWaiting: 300,
      delayToCancelSeconds: 900,
      delayToAutoSettleSeconds: 1200,
      acquirer: 'posbridge',
      submitSecret: undefined,
      heartbeatIntervalMs: 15000,
      dispatchResendMs: 3000,
      agentCredentialCheckMs: 2000,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.merchantCredentials)).toBe(true);
    expect(Object.isFrozen(c.callback)).toBe(true);
  });

  it('callbacks: VTEX gateway hosts only, no allowlist, bounded concurrency by default; the allowlist and suffixes are parsed', () => {
    expect(loadServerConfig(required).callback).toMatchObject({
      perMerchantConcurrency: 4,
      maxConcurrency: 32,
      hostPolicy: { hostSuffixes: ['vtexpayments.com.br'], allowHosts: [] },
    });
    const c = loadServerConfig({
      ...required,
      POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1,localhost:8080',
      POSBRIDGE_CALLBACK_HOST_SUFFIXES: 'vtexpayments.com.br,.vtexpayments.com',
      POSBRIDGE_CALLBACK_MERCHANT_CONCURRENCY: '2',
      POSBRIDGE_CALLBACK_CONCURRENCY: '8',
    });
    expect(c.callback).toMatchObject({
      perMerchantConcurrency: 2,
      maxConcurrency: 8,
      hostPolicy: {
        hostSuffixes: ['vtexpayments.com.br', 'vtexpayments.com'],
        allowHosts: [
          { host: '127.0.0.1', port: null },
          { host: 'localhost', port: 8080 },
        ],
      },
    });
    expect(() =>
      loadServerConfig({ ...required, POSBRIDGE_CALLBACK_ALLOW_HOSTS: 'http://x/', POSBRIDGE_CALLBACK_HOST_SUFFIXES: '10.0.0.1' }),
    ).toThrow(/POSBRIDGE_CALLBACK_HOST_SUFFIXES[\s\S]*POSBRIDGE_CALLBACK_ALLOW_HOSTS|POSBRIDGE_CALLBACK_ALLOW_HOSTS[\s\S]*POSBRIDGE_CALLBACK_HOST_SUFFIXES/);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_CALLBACK_MERCHANT_CONCURRENCY: '8', POSBRIDGE_CALLBACK_CONCURRENCY: '4' })).toThrow(
      /POSBRIDGE_CALLBACK_CONCURRENCY/,
    );
  });

  it('throws ONE CFG_INVALID listing every problem', () => {
    let error: unknown;
    try {
      loadServerConfig({ PORT: 'abc', POSBRIDGE_DELAY_TO_CANCEL: '500', POSBRIDGE_PUBLIC_URL: 'ftp://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'CFG_INVALID' });
    const problems = (error as { details: { problems: string[] } }).details.problems;
    for (const key of [
      'PORT',
      'POSBRIDGE_DELAY_TO_CANCEL',
      'POSBRIDGE_PUBLIC_URL',
      'POSBRIDGE_APP_KEY',
      'POSBRIDGE_APP_TOKEN',
      'POSBRIDGE_CALLBACK_APP_KEY',
      'POSBRIDGE_CALLBACK_APP_TOKEN',
    ]) {
      expect(problems.some((p) => p.startsWith(`${key}:`))).toBe(true);
    }
  });

  it('requires delayToCancel ≥ secondsWaiting + deadline grace + 60', () => {
    expect(() => loadServerConfig({ ...required, POSBRIDGE_SECONDS_WAITING: '900', POSBRIDGE_DELAY_TO_CANCEL: '900' })).toThrow(
      /POSBRIDGE_DELAY_TO_CANCEL/,
    );
    expect(() => loadServerConfig({ ...required, POSBRIDGE_SECONDS_WAITING: '840', POSBRIDGE_DELAY_TO_CANCEL: '900' })).toThrow(
      /POSBRIDGE_DEADLINE_GRACE_SECONDS \+ 60 \(930\)/,
    );
    expect(loadServerConfig({ ...required, POSBRIDGE_SECONDS_WAITING: '810', POSBRIDGE_DELAY_TO_CANCEL: '900' }).secondsWaiting).toBe(810);
    expect(
      loadServerConfig({ ...required, POSBRIDGE_SECONDS_WAITING: '840', POSBRIDGE_DEADLINE_GRACE_SECONDS: '0', POSBRIDGE_DELAY_TO_CANCEL: '900' })
        .deadlineGraceSeconds,
    ).toBe(0);
  });

  it('argv flags override env; trailing slash of publicUrl is dropped', () => {
    const c = loadServerConfig({ ...required, PORT: '1' }, ['--port', '0', '--public-url', 'https://pb.example/']);
    expect(c.port).toBe(0);
    expect(c.publicUrl).toBe('https://pb.example');
  });

  it('redacts secrets for the startup log', () => {
    const c = loadServerConfig({ ...testEnv('/tmp/x.sqlite'), POSBRIDGE_SUBMIT_SECRET: '0123456789abcdef0123' });
    const text = JSON.stringify(redactConfig(c));
    expect(text).not.toContain('merchant-token');
    expect(text).not.toContain('partner-token');
    expect(text).not.toContain('0123456789abcdef0123');
  });

  it('POSBRIDGE_NATS_URL selects the bus (checked, redacted in the log line); the subject prefix is bounded', () => {
    expect(loadServerConfig(required)).toMatchObject({ natsUrl: undefined, natsSubjectPrefix: 'posbridge' });
    const c = loadServerConfig({ ...required, POSBRIDGE_NATS_URL: 'nats://svc:hunter2@n1:4222,nats://svc:hunter2@n2', POSBRIDGE_NATS_SUBJECT_PREFIX: 'eu.prod' });
    expect(c).toMatchObject({ natsUrl: 'nats://svc:hunter2@n1:4222,nats://svc:hunter2@n2', natsSubjectPrefix: 'eu.prod' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('hunter2');
    expect(() => loadServerConfig({ ...required, POSBRIDGE_NATS_URL: 'http://n1' })).toThrow(/POSBRIDGE_NATS_URL: server 1: scheme must be nats:\/\/ or tls:\/\//);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_NATS_SUBJECT_PREFIX: 'a.*' })).toThrow(/POSBRIDGE_NATS_SUBJECT_PREFIX/);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_NATS_SUBJECT_PREFIX: 'a b' })).toThrow(/POSBRIDGE_NATS_SUBJECT_PREFIX/);
  });

  it('POSBRIDGE_STORE chooses the store adapter: sqlite by default, a bounded kind name', () => {
    expect(loadServerConfig(required).storeKind).toBe('sqlite');
    expect(loadServerConfig({ ...required, POSBRIDGE_STORE: 'memory' }).storeKind).toBe('memory');
    expect(() => loadServerConfig({ ...required, POSBRIDGE_STORE: 'SQLite; DROP' })).toThrow(/POSBRIDGE_STORE: must be a store kind/);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_STORE: `a${'b'.repeat(40)}` })).toThrow(/POSBRIDGE_STORE/);
    // The CLI's commands that need no credentials read the same two settings.
    expect(resolveStoreSettings({}, undefined)).toEqual({ storeKind: 'sqlite', dbPath: './posbridge.sqlite' });
    expect(resolveStoreSettings({ POSBRIDGE_STORE: 'memory', POSBRIDGE_DB: 'x.sqlite' }, 'y.sqlite')).toEqual({ storeKind: 'memory', dbPath: 'y.sqlite' });
  });

  it('POSBRIDGE_DATABASE_URL selects postgres unless POSBRIDGE_STORE says otherwise; postgres without it is refused, naming it', () => {
    const url = 'postgres://pb:s3cret-pw@db.internal:5432/pb';
    // A cluster store needs the submit key from configuration (pos/submit-secret.ts).
    const cluster = { ...required, POSBRIDGE_SUBMIT_SECRET: 'k'.repeat(32) };
    const c = loadServerConfig({ ...cluster, POSBRIDGE_DATABASE_URL: url });
    expect(c).toMatchObject({ storeKind: 'postgres', databaseUrl: url, dbPoolMax: 10 });
    expect(loadServerConfig({ ...required, POSBRIDGE_DATABASE_URL: url, POSBRIDGE_STORE: 'sqlite' }).storeKind).toBe('sqlite');
    expect(loadServerConfig({ ...cluster, POSBRIDGE_DATABASE_URL: url, POSBRIDGE_DB_POOL_MAX: '25' }).dbPoolMax).toBe(25);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_STORE: 'postgres' })).toThrow(/POSBRIDGE_DATABASE_URL: is required when POSBRIDGE_STORE=postgres/);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_DATABASE_URL: 'mysql://x' })).toThrow(/POSBRIDGE_DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_DATABASE_URL: url, POSBRIDGE_DB_POOL_MAX: '0' })).toThrow(/POSBRIDGE_DB_POOL_MAX/);
    expect(loadServerConfig(cluster, ['--database-url', url]).storeKind).toBe('postgres');
    // The startup line keeps the host, never the password.
    const text = JSON.stringify(redactConfig(c));
    expect(text).not.toContain('s3cret-pw');
    expect(text).toContain('postgres://pb:[redacted]@db.internal:5432/pb');
    // The CLI reads the same settings (--database-url wins).
    expect(resolveStoreSettings({ POSBRIDGE_DATABASE_URL: url, POSBRIDGE_DB_POOL_MAX: '3' })).toEqual({
      storeKind: 'postgres',
      dbPath: './posbridge.sqlite',
      databaseUrl: url,
      dbPoolMax: 3,
    });
    expect(resolveStoreSettings({}, undefined, 'postgres://other/db')).toMatchObject({ storeKind: 'postgres', databaseUrl: 'postgres://other/db' });
  });
});

describe('POSBRIDGE_INSTANCE_ID (issue 12)', () => {
  const required = { POSBRIDGE_APP_KEY: 'k', POSBRIDGE_APP_TOKEN: 't', POSBRIDGE_CALLBACK_APP_KEY: 'ck', POSBRIDGE_CALLBACK_APP_TOKEN: 'ct' };

  it('is taken as given when it matches the bounded pattern', () => {
    expect(loadServerConfig({ ...required, POSBRIDGE_INSTANCE_ID: 'pb-eu-1.a_b' }).instanceId).toBe('pb-eu-1.a_b');
    expect(loadServerConfig({ ...required, POSBRIDGE_INSTANCE_ID: 'x'.repeat(64) }).instanceId).toHaveLength(64);
  });

  it('refuses other characters, a leading separator and more than 64 characters with CFG_INVALID', () => {
    for (const bad of ['pb 1', '-pb', 'pb/1', 'é', 'x'.repeat(65), 'a{"b"}']) {
      expect(() => loadServerConfig({ ...required, POSBRIDGE_INSTANCE_ID: bad }), bad).toThrow(/POSBRIDGE_INSTANCE_ID: must be 1–64/);
    }
  });

  it('defaults to <hostname>-<pid>-<4 hex>, always within the pattern', () => {
    const a = loadServerConfig(required).instanceId;
    expect(a).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{4}$`));
    expect(a).toMatch(INSTANCE_ID_PATTERN);
    expect(defaultInstanceId('web-1.example.com', 42)).toMatch(/^web-1\.example\.com-42-[0-9a-f]{4}$/);
    for (const host of ['', '---', 'ünïcode host', `h${'x'.repeat(300)}`]) {
      const id = defaultInstanceId(host, 4_194_304);
      expect(id, host).toMatch(INSTANCE_ID_PATTERN);
    }
    expect(defaultInstanceId('', 7)).toMatch(/^posbridge-7-[0-9a-f]{4}$/);
  });
});

describe('server/README.md configuration table', () => {
  it('lists exactly the settings loadServerConfig reads', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const table = section.slice(0, section.indexOf('\n## ', 1));
    const documented = new Set<string>();
    for (const row of table.split('\n').filter((line) => line.startsWith('| `'))) {
      const first = row.split('|')[1] ?? '';
      for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) documented.add(m[1]!);
    }
    expect([...documented].sort()).toEqual([...SERVER_SETTINGS].sort());
  });
});
