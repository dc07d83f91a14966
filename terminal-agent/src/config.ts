/**
 * Configuration of the terminal agent: one zod schema, one defaults object, one loader.
 *
 * Sources, later wins: built-in defaults < JSON file given by `--config <file>` < environment.
 * The loader reports every problem at once in a single `CFG_INVALID` error, and returns a
 * deep-frozen {@link AgentConfig}. This is the only module that reads `process.env` (and only
 * through the `env` argument the caller passes in).
 *
 * Every knob is documented in terminal-agent/README.md.
 * @see ../../shared/STYLE.md b.6
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';

/** Terminal dialects this agent can drive. Issue 2 ships only the PBL/1 line dialect. */
export const TERMINAL_DIALECTS = ['PBL/1'] as const;

/** One terminal the agent drives. */
export interface AgentTerminalConfig {
  /** Device path of the terminal's serial port (`/dev/ttyACM0`, `COM3`, a pty symlink). */
  readonly path: string;
  /** Line speed in baud. @default 9600 */
  readonly baudRate: number;
  /** Wire dialect. @default 'PBL/1' */
  readonly dialect: (typeof TERMINAL_DIALECTS)[number];
  /** Expected serial number; when set, a terminal answering IDENT with another serial is refused. */
  readonly serialNumber?: string;
}

/** Timing and retry knobs; every duration is in milliseconds. */
export interface AgentTimingConfig {
  /** First reconnect delay ceiling (full jitter: the delay is random in [0, min(cap, base·2^n)]). @default 500 */
  readonly reconnectBaseMs: number;
  /** Longest reconnect delay. @default 30000 */
  readonly reconnectCapMs: number;
  /** Interval at which unacknowledged payment.result / payment.rejected are sent again. @default 3000 */
  readonly resendIntervalMs: number;
  /** How long to wait for `hub.welcome` after sending `agent.hello` before reconnecting. @default 10000 */
  readonly helloTimeoutMs: number;
  /** How long to wait for the answer to IDENT. @default 3000 */
  readonly identTimeoutMs: number;
  /** How long to wait for ACK after a SALE before resending it. @default 2000 */
  readonly ackTimeoutMs: number;
  /** SALE sends (first one included) before falling back to STATUS recovery. @default 3 */
  readonly saleAttempts: number;
  /** How long to wait for RESULT after the ACK; must exceed the terminal's card and PIN time-outs. @default 180000 */
  readonly resultTimeoutMs: number;
  /** How long to wait for the answer to one STATUS. @default 2000 */
  readonly statusTimeoutMs: number;
  /** STATUS attempts when a RESULT was lost, before reporting the outcome as unknown. @default 5 */
  readonly statusAttempts: number;
  /** Delay before the 2nd STATUS attempt; doubles after each failed attempt (capped at 10× this). @default 1000 */
  readonly statusBackoffMs: number;
  /** Interval of the background STATUS that keeps trying to resolve an `unknown` outcome. @default 30000 */
  readonly recoveryIntervalMs: number;
}

/** The validated, deep-frozen agent configuration. */
export interface AgentConfig extends AgentTimingConfig {
  /** Hub endpoint: `ws://host:port/agent/v1` (or `wss://`). */
  readonly serverUrl: string;
  /** Agent token issued by the server; sent as `Authorization: Bearer <token>`. Secret. */
  readonly token: string;
  /** Terminals driven by this agent (at least one). */
  readonly terminals: readonly AgentTerminalConfig[];
  /** pino level. @default 'info' */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Defaults of every optional knob. */
export const AGENT_CONFIG_DEFAULTS: Readonly<AgentTimingConfig & { logLevel: AgentConfig['logLevel'] }> = Object.freeze({
  reconnectBaseMs: 500,
  reconnectCapMs: 30_000,
  resendIntervalMs: 3_000,
  helloTimeoutMs: 10_000,
  identTimeoutMs: 3_000,
  ackTimeoutMs: 2_000,
  saleAttempts: 3,
  resultTimeoutMs: 180_000,
  statusTimeoutMs: 2_000,
  statusAttempts: 5,
  statusBackoffMs: 1_000,
  recoveryIntervalMs: 30_000,
  logLevel: 'info',
});

/** Default baud rate of a terminal port. */
export const DEFAULT_BAUD_RATE = 9600;

const TIMING_KEYS = [
  'reconnectBaseMs',
  'reconnectCapMs',
  'resendIntervalMs',
  'helloTimeoutMs',
  'identTimeoutMs',
  'ackTimeoutMs',
  'saleAttempts',
  'resultTimeoutMs',
  'statusTimeoutMs',
  'statusAttempts',
  'statusBackoffMs',
  'recoveryIntervalMs',
] as const satisfies readonly (keyof AgentTimingConfig)[];

/** Environment variable of a timing knob: `ackTimeoutMs` → `POSBRIDGE_ACK_TIMEOUT_MS`. */
export function envNameOf(key: keyof AgentTimingConfig): string {
  return `POSBRIDGE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Env values are strings: accept decimal integers for numeric knobs. */
const intFromText = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), schema);

const positiveInt = intFromText(z.number().int().positive());

const TerminalSchema = z.strictObject({
  path: z.string().min(1, 'must not be empty'),
  baudRate: intFromText(z.number().int().min(50).max(4_000_000)).default(DEFAULT_BAUD_RATE),
  dialect: z.enum(TERMINAL_DIALECTS).default('PBL/1'),
  serialNumber: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ -')
    .optional(),
});

const ConfigSchema = z
  .strictObject({
    serverUrl: z
      .string({ error: 'is required' })
      .refine((v) => URL.canParse(v) && /^wss?:$/.test(new URL(v).protocol), 'must be a ws:// or wss:// URL'),
    token: z.string({ error: 'is required' }).min(1, 'is required'),
    terminals: z.array(TerminalSchema, { error: 'is required' }).min(1, 'at least one terminal is required'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ...Object.fromEntries(TIMING_KEYS.map((k) => [k, positiveInt.default(AGENT_CONFIG_DEFAULTS[k])])),
  })
  .superRefine((cfg, ctx) => {
    const seenPath = new Set<string>();
    const seenSerial = new Set<string>();
    cfg.terminals.forEach((t, i) => {
      if (seenPath.has(t.path)) ctx.addIssue({ code: 'custom', path: ['terminals', i, 'path'], message: `duplicate path ${t.path}` });
      seenPath.add(t.path);
      if (t.serialNumber !== undefined) {
        if (seenSerial.has(t.serialNumber)) {
          ctx.addIssue({ code: 'custom', path: ['terminals', i, 'serialNumber'], message: `duplicate serial ${t.serialNumber}` });
        }
        seenSerial.add(t.serialNumber);
      }
    });
  });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds the agent configuration from the environment and command-line arguments.
 *
 * @param env - usually `process.env`: `POSBRIDGE_SERVER_URL`, `POSBRIDGE_AGENT_TOKEN`,
 *   `POSBRIDGE_TERMINAL_PORT`, `POSBRIDGE_TERMINAL_BAUD`, `POSBRIDGE_TERMINAL_SERIAL`,
 *   `LOG_LEVEL`, and `POSBRIDGE_<KNOB>` for every timing knob ({@link envNameOf}).
 * @param argv - arguments after the command name; only `--config <file.json>` is read here
 *   (a positional `run` and `--help` are tolerated).
 * @throws CodedError `CFG_INVALID` whose message lists every problem found.
 */
export function loadAgentConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): AgentConfig {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  /** Where each top-level key came from, to name the right knob in error messages. */
  const source = new Map<string, string>();

  let configFile: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    configFile = values.config;
  } catch (err) {
    problems.push(`command line: ${(err as Error).message}`);
  }

  if (configFile !== undefined) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(configFile, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`config file ${configFile}: must contain a JSON object`);
      } else {
        for (const [k, v] of Object.entries(parsed)) {
          raw[k] = v;
          source.set(k, `${k} (config file ${configFile})`);
        }
      }
    } catch (err) {
      problems.push(`config file ${configFile}: ${(err as Error).message}`);
    }
  }

  const fromEnv = (key: string, name: string): void => {
    const v = env[name];
    if (v === undefined || v === '') return;
    raw[key] = v;
    source.set(key, name);
  };
  fromEnv('serverUrl', 'POSBRIDGE_SERVER_URL');
  fromEnv('token', 'POSBRIDGE_AGENT_TOKEN');
  fromEnv('logLevel', 'LOG_LEVEL');
  for (const key of TIMING_KEYS) fromEnv(key, envNameOf(key));

  const port = env['POSBRIDGE_TERMINAL_PORT'];
  const baud = env['POSBRIDGE_TERMINAL_BAUD'];
  const serial = env['POSBRIDGE_TERMINAL_SERIAL'];
  if (port !== undefined && port !== '') {
    // The env describes the one terminal of a single-terminal install and replaces the file's list.
    raw['terminals'] = [
      {
        path: port,
        ...(baud !== undefined && baud !== '' ? { baudRate: baud } : {}),
        ...(serial !== undefined && serial !== '' ? { serialNumber: serial } : {}),
      },
    ];
    source.set('terminals', 'POSBRIDGE_TERMINAL_PORT/_BAUD/_SERIAL');
  } else if ((baud ?? '') !== '' || (serial ?? '') !== '') {
    problems.push('POSBRIDGE_TERMINAL_BAUD / POSBRIDGE_TERMINAL_SERIAL are set but POSBRIDGE_TERMINAL_PORT is not');
  }
  if (!source.has('serverUrl')) source.set('serverUrl', 'serverUrl (POSBRIDGE_SERVER_URL)');
  if (!source.has('token')) source.set('token', 'token (POSBRIDGE_AGENT_TOKEN)');
  if (!source.has('terminals')) source.set('terminals', 'terminals (POSBRIDGE_TERMINAL_PORT)');

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [head, ...rest] = issue.path.map(String);
      const where = head === undefined ? '(config)' : [source.get(head) ?? head, ...rest].join('.');
      problems.push(`${where}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return deepFreeze(parsed.data as unknown as AgentConfig);
}

/** The config as it may be logged: the token replaced by `[redacted]`. */
export function redactConfig(config: AgentConfig): Record<string, unknown> {
  return { ...config, token: '[redacted]' };
}

/** The process environment; the one place of the agent that touches `process.env`. */
export function readProcessEnv(): Record<string, string | undefined> {
  return process.env;
}
