import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from './config.ts';
import { readTokenFile, writePrivateFile } from './token-file.ts';

describe('token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-token-'));

  it('is written with mode 0600, replacing a wider older file', () => {
    const path = join(dir, 't1');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    writePrivateFile(path, 'tok_abc\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readTokenFile(path)).toEqual({ token: 'tok_abc' });
  });

  it('is refused when other users can read it, empty, or not one token', () => {
    const path = join(dir, 't2');
    writeFileSync(path, 'tok\n');
    chmodSync(path, 0o644);
    expect(readTokenFile(path)).toEqual({ problem: `token file ${path} is readable by other users (mode 644): run chmod 600 ${path}` });
    writePrivateFile(path, '\n');
    expect(readTokenFile(path)).toMatchObject({ problem: expect.stringContaining('one token on one line') });
    writePrivateFile(path, 'a b\n');
    expect(readTokenFile(path)).toMatchObject({ problem: expect.stringContaining('one token on one line') });
    expect(readTokenFile(join(dir, 'missing'))).toMatchObject({ problem: expect.stringContaining('ENOENT') });
  });

  it('gives the config its token: tokenFile relative to the config file, or POSBRIDGE_AGENT_TOKEN_FILE; a direct token wins', () => {
    writePrivateFile(join(dir, 'agent.token'), 'from-file\n');
    const configPath = join(dir, 'agent.json');
    writeFileSync(configPath, JSON.stringify({ serverUrl: 'ws://127.0.0.1:1/agent/v1', tokenFile: 'agent.token', terminals: [{ path: '/dev/ttyACM0' }] }));
    expect(loadAgentConfig({}, ['--config', configPath]).token).toBe('from-file');
    expect(loadAgentConfig({ POSBRIDGE_AGENT_TOKEN: 'direct' }, ['--config', configPath]).token).toBe('direct');
    expect(
      loadAgentConfig({ POSBRIDGE_SERVER_URL: 'ws://127.0.0.1:1/agent/v1', POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM0', POSBRIDGE_AGENT_TOKEN_FILE: join(dir, 'agent.token') }).token,
    ).toBe('from-file');
    chmodSync(join(dir, 'agent.token'), 0o640);
    expect(() => loadAgentConfig({}, ['--config', configPath])).toThrow('readable by other users');
  });
});
