import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_CONFIG_DEFAULTS, MAX_SERVER_URLS, envNameOf, loadAgentConfig } from './config.ts';

const ENV = {
  POSBRIDGE_SERVER_URL: 'ws://127.0.0.1:8080/agent/v1',
  POSBRIDGE_AGENT_TOKEN: 'secret',
  POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM0',
};

describe('loadAgentConfig', () => {
  it('builds a frozen config with defaults from the environment', () => {
    const cfg = loadAgentConfig(ENV);
    expect(cfg).toMatchObject({
      serverUrls: [ENV.POSBRIDGE_SERVER_URL],
      token: 'secret',
      terminals: [{ path: '/dev/ttyACM0', baudRate: 9600, dialect: 'PBL/1' }],
      ...AGENT_CONFIG_DEFAULTS,
    });
    expect(cfg.terminals[0]).not.toHaveProperty('serialNumber');
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.terminals[0])).toBe(true);
  });

  it('reads baud, serial and timing knobs from the environment', () => {
    const cfg = loadAgentConfig({
      ...ENV,
      POSBRIDGE_TERMINAL_BAUD: '115200',
      POSBRIDGE_TERMINAL_SERIAL: 'SN-42',
      POSBRIDGE_RESULT_TIMEOUT_MS: '90000',
      LOG_LEVEL: 'debug',
    });
    expect(cfg.terminals[0]).toMatchObject({ baudRate: 115200, serialNumber: 'SN-42' });
    expect(cfg.resultTimeoutMs).toBe(90_000);
    expect(cfg.logLevel).toBe('debug');
    expect(envNameOf('ackTimeoutMs')).toBe('POSBRIDGE_ACK_TIMEOUT_MS');
  });

  it('merges a --config file under the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cfg-'));
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        serverUrl: 'ws://file/agent/v1',
        token: 'from-file',
        terminals: [{ path: '/dev/a' }, { path: '/dev/b', serialNumber: 'SN-B', baudRate: 19200 }],
        ackTimeoutMs: 1500,
      }),
    );
    const cfg = loadAgentConfig({ POSBRIDGE_AGENT_TOKEN: 'from-env' }, ['run', '--config', file]);
    expect(cfg.serverUrls).toEqual(['ws://file/agent/v1']);
    expect(cfg.token).toBe('from-env');
    expect(cfg.terminals.map((t) => t.path)).toEqual(['/dev/a', '/dev/b']);
    expect(cfg.ackTimeoutMs).toBe(1500);
  });

  it('lists every problem in one CFG_INVALID error', () => {
    let caught: unknown;
    try {
      loadAgentConfig({ POSBRIDGE_SERVER_URL: 'http://x', POSBRIDGE_ACK_TIMEOUT_MS: '-1', LOG_LEVEL: 'loud' }, ['--bogus']);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'CFG_INVALID' });
    const message = (caught as Error).message;
    for (const part of ['--bogus', 'POSBRIDGE_SERVER_URL', 'POSBRIDGE_AGENT_TOKEN', 'POSBRIDGE_TERMINAL_PORT', 'POSBRIDGE_ACK_TIMEOUT_MS', 'LOG_LEVEL']) {
      expect(message).toContain(part);
    }
  });

  it('rejects unknown keys and unreadable files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cfg-'));
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ tokken: 'typo' }));
    expect(() => loadAgentConfig(ENV, ['--config', file])).toThrow(/tokken/);
    expect(() => loadAgentConfig(ENV, ['--config', join(dir, 'missing.json')])).toThrow(/missing\.json/);
  });
});

/** The problems of a config that must not load, as one message. */
function problemsOf(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadAgentConfig({ ...ENV, ...env }, argv);
  } catch (err) {
    expect(err).toMatchObject({ code: 'CFG_INVALID' });
    return (err as Error).message;
  }
  throw new Error('the config loaded');
}

function configFile(content: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'agent-cfg-')), 'agent.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('hub URLs (several instances)', () => {
  const A = 'wss://hub-a.example/agent/v1';
  const B = 'wss://hub-b.example:8443/agent/v1';

  it('reads a comma-separated POSBRIDGE_SERVER_URL in order, trimming spaces', () => {
    expect(loadAgentConfig({ ...ENV, POSBRIDGE_SERVER_URL: ` ${A} ,${B}` }).serverUrls).toEqual([A, B]);
  });

  it('reads serverUrls (a list) or serverUrl (one URL) from the file; the environment and --server-url replace them', () => {
    const list = configFile({ serverUrls: [A, B], terminals: [{ path: '/dev/a' }] });
    const one = configFile({ serverUrl: B, terminals: [{ path: '/dev/a' }] });
    const env = { POSBRIDGE_AGENT_TOKEN: 't' };
    expect(loadAgentConfig(env, ['--config', list]).serverUrls).toEqual([A, B]);
    expect(loadAgentConfig(env, ['--config', one]).serverUrls).toEqual([B]);
    expect(loadAgentConfig({ ...env, POSBRIDGE_SERVER_URL: B }, ['--config', list]).serverUrls).toEqual([B]);
    expect(loadAgentConfig({ ...env, POSBRIDGE_SERVER_URL: B }, ['--config', list, '--server-url', `${B},${A}`]).serverUrls).toEqual([B, A]);
    expect(Object.isFrozen(loadAgentConfig(env, ['--config', list]).serverUrls)).toBe(true);
  });

  it('refuses a file that sets both serverUrl and serverUrls', () => {
    const file = configFile({ serverUrl: A, serverUrls: [B], token: 't', terminals: [{ path: '/dev/a' }] });
    expect(() => loadAgentConfig({}, ['--config', file])).toThrow(/serverUrl and serverUrls are both set/);
  });

  it('names each bad entry by position, never by its text', () => {
    const message = problemsOf({ POSBRIDGE_SERVER_URL: `${A},http://b.example/agent/v1,,wss://user:pw@c.example/agent/v1` });
    expect(message).toContain('POSBRIDGE_SERVER_URL: entry 2 of 4: must be a ws:// or wss:// URL');
    expect(message).toContain('POSBRIDGE_SERVER_URL: entry 3 of 4: is empty');
    expect(message).toContain('POSBRIDGE_SERVER_URL: entry 4 of 4: must not carry user:password@');
    expect(message).not.toContain('pw@');
    expect(problemsOf({ POSBRIDGE_SERVER_URL: 'ftp://x' })).toContain('POSBRIDGE_SERVER_URL: must be a ws:// or wss:// URL');
  });

  it('refuses duplicates, compared as parsed URLs', () => {
    expect(problemsOf({ POSBRIDGE_SERVER_URL: `${A},${B},WSS://HUB-A.example:443/agent/v1` })).toContain('entry 3 of 3: repeats entry 1');
  });

  it(`refuses more than ${MAX_SERVER_URLS} URLs and a mix of ws:// and wss://`, () => {
    const many = Array.from({ length: MAX_SERVER_URLS + 1 }, (_, i) => `wss://hub-${i}.example/agent/v1`);
    expect(problemsOf({ POSBRIDGE_SERVER_URL: many.join(',') })).toContain(`lists ${MAX_SERVER_URLS + 1} URLs; at most ${MAX_SERVER_URLS}`);
    expect(loadAgentConfig({ ...ENV, POSBRIDGE_SERVER_URL: many.slice(1).join(',') }).serverUrls).toHaveLength(MAX_SERVER_URLS);
    expect(problemsOf({ POSBRIDGE_SERVER_URL: `${A},ws://hub-b.example/agent/v1` })).toContain('mixes ws:// and wss:// URLs');
  });

  it('a file list with a non-string entry or no URL at all is a problem of its own key', () => {
    const file = configFile({ serverUrls: [A, 42], token: 't', terminals: [{ path: '/dev/a' }] });
    expect(() => loadAgentConfig({}, ['--config', file])).toThrow(/serverUrls \(config file .*\)\.1:/);
    expect(() => loadAgentConfig({ POSBRIDGE_AGENT_TOKEN: 't', POSBRIDGE_TERMINAL_PORT: '/dev/a' })).toThrow(/serverUrl \(POSBRIDGE_SERVER_URL\): is required/);
    const empty = configFile({ serverUrls: [], token: 't', terminals: [{ path: '/dev/a' }] });
    expect(() => loadAgentConfig({}, ['--config', empty])).toThrow(/serverUrls \(config file .*\): is required/);
  });
});
