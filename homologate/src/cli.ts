/**
 * `posbridge-homologate`: runs the homologation cases against a connector and prints the Test
 * Report on stdout (text, or JSON with --json). Exit status 0 when every case passes, 1 when one
 * fails, 2 for a bad command line. Every option is in {@link USAGE} (`cli-usage.ts`).
 */
import { parseArgs } from 'node:util';
import { parseHostPort } from './callback-listener.ts';
import { CLI_OPTIONS, USAGE } from './cli-usage.ts';
import { renderJson, renderText } from './report.ts';
import { runHomologation, type HomologationOptions } from './run.ts';

function fail(message: string): never {
  process.stderr.write(`posbridge-homologate: ${message}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({ args: process.argv.slice(2), options: CLI_OPTIONS, strict: true, allowPositionals: false });
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`);
}
const { values } = parsed;
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const required = (name: 'url' | 'app-key' | 'app-token'): string => {
  const v = values[name];
  if (v === undefined || v.trim() === '') fail(`--${name} is required (see --help)`);
  return v;
};
const positive = (name: string, text: string | undefined, max: number): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) fail(`--${name} must be a whole number from 1 to ${max}`);
  return Number(text);
};

const url = required('url');
if (!/^https?:\/\/[^/]+/.test(url)) fail('--url must be an http:// or https:// URL');
const options: HomologationOptions = { url, appKey: required('app-key'), appToken: required('app-token') };
for (const [name, value] of [
  ['callback-host', values['callback-host']],
  ['callback-public-host', values['callback-public-host']],
] as const) {
  if (value === undefined) continue;
  try {
    parseHostPort(value);
  } catch (err) {
    fail(`--${name}: ${(err as Error).message}`);
  }
}
if (values['callback-host'] !== undefined) {
  const { host } = parseHostPort(values['callback-host']);
  if ((host === '0.0.0.0' || host === '::') && values['callback-public-host'] === undefined) {
    fail(`--callback-host ${values['callback-host']} listens on every address: say where the connector reaches it with --callback-public-host`);
  }
  options.callbackListen = values['callback-host'];
}
if (values['callback-public-host'] !== undefined) options.callbackPublicHost = values['callback-public-host'];
if (values.serial !== undefined) {
  if (!/^[\x21-\x7e]{1,64}$/.test(values.serial)) fail('--serial must be 1–64 visible ASCII characters');
  options.serial = values.serial;
}
if (values['payment-method'] !== undefined) options.paymentMethod = values['payment-method'];
if (values['merchant-name'] !== undefined) {
  if (!/^[\x21-\x7e]{1,128}$/.test(values['merchant-name'])) fail('--merchant-name must be 1–128 visible ASCII characters');
  options.merchantName = values['merchant-name'];
}
const timeoutMs = positive('timeout-ms', values['timeout-ms'], 120_000);
if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
const posTimeoutMs = positive('pos-timeout-ms', values['pos-timeout-ms'], 3_600_000);
if (posTimeoutMs !== undefined) options.posTimeoutMs = posTimeoutMs;

try {
  const report = await runHomologation(options);
  process.stdout.write(values.json === true ? renderJson(report, [options.appToken]) : renderText(report, [options.appToken]));
  process.exitCode = report.passed ? 0 : 1;
} catch (err) {
  process.stderr.write(`posbridge-homologate: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
