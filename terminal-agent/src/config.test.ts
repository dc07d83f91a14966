import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_CONFIG_DEFAULTS, envNameOf, loadAgentConfig } from './config.ts';

const ENV = {
  POSBRIDGE_SERVER_URL: 'ws://127.0.0.1:8080/agent/v1',
  POSBRIDGE_AGENT_TOKEN: 'secret',
  POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM0',
};

describe('loadAgentConfig', () => {
  it('builds a frozen config with defaults from the environment', () => {
    const cfg = loadAgentConfig(ENV);
    expect(cfg).toMatchObject({
      serverUrl: ENV.POSBRIDGE_SERVER_URL,
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
    expect(cfg.serverUrl).toBe('ws://file/agent/v1');
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
