/**
 * A throwaway PKI for tests, made with the `openssl` command line: a self-signed CA and a server
 * certificate it signs for `localhost` and `127.0.0.1` (RSA 2048, SHA-256, valid one day), plus
 * an unrelated CA to prove that trusting the wrong CA fails. Not exported by the package.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files of {@link createTestPki} (PEM). */
export interface TestPki {
  readonly dir: string;
  /** The CA that signed the server certificate. */
  readonly caFile: string;
  /** Another self-signed CA, unrelated to the server certificate. */
  readonly otherCaFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM text of `caFile`. */
  readonly caPem: string;
  /** Removes the folder. */
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Generates the CA, the server key and certificate in a new temp folder.
 * @throws the openssl error when the command fails (or is missing: the suites declare `@requires-program openssl`).
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'posbridge-pki-'));
  const selfSignedCa = (name: string, cn: string) =>
    openssl(
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1', '-subj', `/CN=${cn}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout', `${name}.key`, '-out', `${name}.pem`],
      dir,
    );
  selfSignedCa('ca', 'posbridge test CA');
  selfSignedCa('other-ca', 'unrelated test CA');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-sha256',
      '-extfile', 'server.ext', '-out', 'server.pem'],
    dir,
  );
  const caFile = join(dir, 'ca.pem');
  return {
    dir,
    caFile,
    otherCaFile: join(dir, 'other-ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    caPem: readFileSync(caFile, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
