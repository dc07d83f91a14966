/** The server CA knob (`caFile` / `POSBRIDGE_SERVER_CA_FILE`): validated at start, trusted in addition to Node's roots. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../config.ts';
import { certificateProblemOf, readCaFile, serverTrust } from './tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'posbridge-agent-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Any well-formed certificate will do for parsing: take one of Node's bundled roots.
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, `${rootCertificates[0]}\n`);
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, 'hello\n');
const broken = join(dir, 'broken.pem');
writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');

const base = { POSBRIDGE_SERVER_URL: 'wss://pos.example/agent/v1', POSBRIDGE_AGENT_TOKEN: 't', POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM0' };

describe('server CA', () => {
  it('is read from POSBRIDGE_SERVER_CA_FILE and trusted with the bundled roots', () => {
    const config = loadAgentConfig({ ...base, POSBRIDGE_SERVER_CA_FILE: caFile });
    expect(config.caFile).toBe(caFile);
    const trust = serverTrust(config.caFile)!;
    expect(trust).toHaveLength(rootCertificates.length + 1);
    expect(serverTrust(undefined)).toBeUndefined();
  });

  it('is validated at start: missing file, no PEM, unparsable certificate, plain ws://', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadAgentConfig({ ...base, ...env });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems({ POSBRIDGE_SERVER_CA_FILE: join(dir, 'missing.pem') })).toMatch(/POSBRIDGE_SERVER_CA_FILE: cannot read .*missing\.pem/);
    expect(problems({ POSBRIDGE_SERVER_CA_FILE: notPem })).toMatch(/POSBRIDGE_SERVER_CA_FILE: .*holds no PEM certificate/);
    expect(problems({ POSBRIDGE_SERVER_CA_FILE: broken })).toMatch(/certificate 1 does not parse/);
    expect(problems({ POSBRIDGE_SERVER_CA_FILE: caFile, POSBRIDGE_SERVER_URL: 'ws://pos.example/agent/v1' })).toMatch(
      /POSBRIDGE_SERVER_CA_FILE: is set but serverUrl is not wss:\/\//,
    );
    expect(() => readCaFile(caFile)).not.toThrow();
  });

  it('names certificate failures with the fix, and nothing else', () => {
    expect(certificateProblemOf({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })?.fix).toContain('POSBRIDGE_SERVER_CA_FILE');
    expect(certificateProblemOf({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })?.fix).toContain('host name');
    expect(certificateProblemOf({ code: 'CERT_HAS_EXPIRED' })?.fix).toContain('clock');
    expect(certificateProblemOf({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(certificateProblemOf(new Error('x'))).toBeUndefined();
  });
});
