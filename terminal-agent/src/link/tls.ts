/**
 * TLS trust of the agent's connection to the server (`wss://`, and the doctor's `https://`
 * probes): Node's bundled root CAs plus, when configured, the PEM file `caFile`
 * (`POSBRIDGE_SERVER_CA_FILE`) — for servers whose certificate is signed by a private CA.
 * Certificate verification is never turned off.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks a CA file: every PEM `CERTIFICATE` block in it must parse.
 * @returns the PEM blocks (at least one).
 * @throws Error with a message fit for a configuration problem list.
 */
export function readCaFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(`${path}: certificate ${i + 1} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
  return blocks;
}

/**
 * The `ca` option for TLS connections to the server: Node's roots plus `caFile`'s certificates,
 * or undefined (Node's defaults) without `caFile`.
 */
export function serverTrust(caFile: string | undefined): string[] | undefined {
  return caFile === undefined ? undefined : [...rootCertificates, ...readCaFile(caFile)];
}

/** OpenSSL/Node error codes meaning "the server's certificate is not trusted or not valid for this host". */
const CERT_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * When `err` is a server-certificate failure, what the technician should do; otherwise undefined.
 */
export function certificateProblemOf(err: unknown): { code: string; fix: string } | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !CERT_ERROR_CODES.has(code)) return undefined;
  const fix =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? 'the certificate does not name this host: use the host name the certificate was issued for in POSBRIDGE_SERVER_URL'
      : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
        ? 'the server certificate is outside its validity dates: renew it on the server, and check this machine\'s clock'
        : 'the server certificate is not signed by a trusted CA: set POSBRIDGE_SERVER_CA_FILE (caFile) to the PEM of the CA that signed it';
  return { code, fix };
}
