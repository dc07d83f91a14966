/**
 * `posbridge-agent pair <code> --server <url>` (terminal-agent/README.md "Pairing",
 * docs/agent-enrolment.md): exchanges a pairing code from the operator
 * (`posbridge-server agent pair-code`, or the console) for this agent's token at
 * `POST <server>/agent/v1/pair`, then saves
 * - the token in the token file (`--token-file`, default `posbridge-agent.token` beside the
 *   config file) with mode 0600, and
 * - `serverUrl` and `tokenFile` in the config file (`--config`, default `./posbridge-agent.json`;
 *   its other settings are kept), also mode 0600,
 * and prints what it did. `--server` takes the hub URL (`ws(s)://host:port/agent/v1`) or the
 * server's base URL (`http(s)://host:port`); a private CA is trusted with `--ca-file` or
 * `POSBRIDGE_SERVER_CA_FILE`. Exit codes: 0 paired, 1 refused or unreachable, 2 usage.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_VERSION } from './agent.ts';
import type { CommandIo } from './commands.ts';
import { readCaFile } from './link/tls.ts';
import { writePrivateFile } from './token-file.ts';

/** Usage of `pair`. */
export const PAIR_USAGE = `Usage: posbridge-agent pair <code> --server <url> [--config <file>] [--token-file <file>] [--ca-file <pem>]

Pairs this agent with the posbridge server: exchanges the pairing code an operator created
(posbridge-server agent pair-code; valid 15 minutes, single use) for the agent's token.

  <code>               the code as shown, e.g. 7K3QD-M9X2T (case, dashes and spaces do not matter)
  --server <url>       ws(s)://host:port/agent/v1, or the server's http(s)://host:port
  -c, --config <file>  config file to write serverUrl and tokenFile to (default ./posbridge-agent.json;
                       other settings in it are kept)
  --token-file <file>  where the token goes, mode 0600 (default posbridge-agent.token beside the config)
  --ca-file <pem>      CA of a private server certificate (default POSBRIDGE_SERVER_CA_FILE)

Then start the agent with: posbridge-agent run --config <file>
`;

/** The hub URL and the pairing endpoint of what `--server` named. */
export function pairingUrls(server: string): { hubUrl: string; pairUrl: string } {
  const url = new URL(server);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new Error(`--server must be ws(s):// or http(s)://, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new Error('--server must not carry user:password@');
  const host = url.host;
  return { hubUrl: `${secure ? 'wss' : 'ws'}://${host}/agent/v1`, pairUrl: `${secure ? 'https' : 'http'}://${host}/agent/v1/pair` };
}

/** POSTs `body` as JSON; resolves with the status and parsed answer (bounded to 64 KiB). */
function postJson(url: string, body: unknown, ca: string[] | undefined, timeoutMs = 15_000): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = JSON.stringify(body);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolvePromise, reject) => {
    const req = send(
      target,
      { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }, timeout: timeoutMs, ...(ca === undefined ? {} : { ca }) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.length > 65_536) req.destroy(new Error('answer too large'));
        });
        res.on('end', () => {
          try {
            resolvePromise({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> });
          } catch {
            reject(new Error(`the server answered HTTP ${res.statusCode ?? 0} without JSON: is ${url} a posbridge server?`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Runs `pair`. @param args - the arguments after `pair`. */
export async function pairCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'token-file': { type: 'string' },
        'ca-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`posbridge-agent pair: ${(err as Error).message}\n\n${PAIR_USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.out(PAIR_USAGE);
    return 0;
  }
  const [code, ...extra] = parsed.positionals;
  const server = parsed.values.server ?? io.env['POSBRIDGE_SERVER_URL'];
  if (code === undefined || extra.length > 0 || server === undefined || server === '') {
    io.err(`posbridge-agent pair: a code and --server are required\n\n${PAIR_USAGE}`);
    return 2;
  }
  let urls;
  try {
    urls = pairingUrls(server.split(',')[0]?.trim() ?? '');
  } catch (err) {
    io.err(`posbridge-agent pair: ${(err as Error).message}\n`);
    return 2;
  }
  const configPath = resolve(parsed.values.config ?? 'posbridge-agent.json');
  const tokenPath = resolve(parsed.values['token-file'] ?? join(dirname(configPath), 'posbridge-agent.token'));
  const caPath = parsed.values['ca-file'] ?? io.env['POSBRIDGE_SERVER_CA_FILE'];
  let config: Record<string, unknown> = {};
  try {
    if (existsSync(configPath)) {
      const text = readFileSync(configPath, 'utf8');
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('must contain a JSON object');
      config = value as Record<string, unknown>;
    }
  } catch (err) {
    io.err(`posbridge-agent pair: config file ${configPath}: ${(err as Error).message}; nothing was changed\n`);
    return 1;
  }

  let answer;
  try {
    answer = await postJson(urls.pairUrl, { code, agentVersion: AGENT_VERSION }, caPath === undefined ? undefined : readCaFile(caPath));
  } catch (err) {
    io.err(`posbridge-agent pair: could not reach ${urls.pairUrl}: ${(err as Error).message}\n`);
    return 1;
  }
  const { status, json } = answer;
  if (status !== 200 || typeof json['token'] !== 'string' || typeof json['agentId'] !== 'string') {
    const why = typeof json['code'] === 'string' ? `${json['code']}: ${String(json['message'])}` : `HTTP ${status}`;
    io.err(`posbridge-agent pair: the server refused the code (${why}); nothing was changed\n`);
    return 1;
  }

  writePrivateFile(tokenPath, `${json['token']}\n`);
  const relativeToken = relative(dirname(configPath), tokenPath);
  const next: Record<string, unknown> = { ...config, tokenFile: relativeToken === basename(tokenPath) ? basename(tokenPath) : relativeToken };
  delete next['token'];
  const urlsInFile = Array.isArray(config['serverUrls']) ? (config['serverUrls'] as unknown[]) : undefined;
  if (urlsInFile === undefined || !urlsInFile.includes(urls.hubUrl)) {
    delete next['serverUrls'];
    next['serverUrl'] = urls.hubUrl;
  }
  writePrivateFile(configPath, `${JSON.stringify(next, null, 2)}\n`);
  io.out(
    `paired with ${urls.hubUrl}\n  agent:      ${String(json['agentName'])} (${json['agentId']})\n  store:      ${String(json['storeId'])} of merchant ${String(json['merchantId'])}\n` +
      `  token:      saved to ${tokenPath} (mode 0600)\n  config:     ${configPath} (serverUrl, tokenFile${Object.keys(config).length > 0 ? '; other settings kept' : ''})\n` +
      (Array.isArray(next['terminals']) ? '' : '  terminals:  none configured yet: add "terminals" to the config file or set POSBRIDGE_TERMINAL_PORT\n') +
      (io.env['POSBRIDGE_AGENT_TOKEN'] ? '  warning:    POSBRIDGE_AGENT_TOKEN is set and wins over the token file: unset it\n' : '') +
      `Start the agent with: posbridge-agent run --config ${configPath}\n`,
  );
  return 0;
}
