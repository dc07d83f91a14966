/**
 * `posbridge-server` command line (entry of bin/posbridge-server.js).
 *
 * ```
 * posbridge-server [run] [--port N] [--host H] [--db PATH] [--public-url URL] [--log-level L]
 * posbridge-server agent add --name NAME [--db PATH]
 * posbridge-server --help
 * ```
 * Exit codes: 0 ok, 1 runtime/config failure, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { isCodedError } from '@posbridge/protocol/errors';
import { readProcessEnv, resolveDbPath } from './config.ts';
import { issueAgentToken } from './hub/agent-tokens.ts';
import { runServerProcess } from './main.ts';
import { openSqliteStore } from './store/sqlite-store.ts';

/** Text of `--help`. */
export const HELP = `posbridge-server — VTEX PPP connector for in-store POS payments + terminal-agent hub

Usage:
  posbridge-server [run] [options]        start the server (default command)
  posbridge-server agent add --name NAME  create a terminal agent and print its token (shown once)
  posbridge-server --help                 show this help

Options (each overrides its environment variable):
  --port N          PORT (default 8080; 0 = any free port)
  --host H          HOST (default 0.0.0.0)
  --db PATH         POSBRIDGE_DB (default ./posbridge.sqlite)
  --public-url URL  POSBRIDGE_PUBLIC_URL (base of submitUrl)
  --log-level L     LOG_LEVEL (fatal|error|warn|info|debug|trace|silent)
  --name NAME       agent name (agent add)

Required environment: POSBRIDGE_APP_KEY, POSBRIDGE_APP_TOKEN, POSBRIDGE_CALLBACK_APP_KEY,
POSBRIDGE_CALLBACK_APP_TOKEN. See server/README.md for every setting.
`;

const CONFIG_FLAGS = ['port', 'host', 'db', 'public-url', 'log-level'] as const;

/**
 * Runs the CLI.
 * @returns the process exit code to use, or undefined when the server keeps running.
 */
export async function runCli(args: readonly string[], env: Record<string, string | undefined>): Promise<number | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        'public-url': { type: 'string' },
        'log-level': { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [command = 'run', sub, ...rest] = positionals;

  if (command === 'run' && sub === undefined) {
    const argv: string[] = [];
    for (const flag of CONFIG_FLAGS) {
      const v = values[flag];
      if (v !== undefined) argv.push(`--${flag}`, v);
    }
    const running = await runServerProcess(env, argv);
    return running ? undefined : 1;
  }

  if (command === 'agent' && sub === 'add' && rest.length === 0) {
    if (values.name === undefined || values.name.trim() === '') {
      process.stderr.write('agent add: --name is required\n');
      return 2;
    }
    try {
      const store = await openSqliteStore({ filename: resolveDbPath(env, values.db) });
      try {
        const { agentId, token } = await issueAgentToken(store, values.name, Date.now());
        process.stdout.write(
          `agent created\n  name:    ${values.name.trim()}\n  agentId: ${agentId}\n  token:   ${token}\n` +
            'Store the token now: only its hash is kept, it cannot be shown again.\n',
        );
      } finally {
        await store.close();
      }
      return 0;
    } catch (err) {
      process.stderr.write(`agent add failed: ${isCodedError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
      return 1;
    }
  }

  process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${HELP}`);
  return 2;
}

const code = await runCli(process.argv.slice(2), readProcessEnv());
if (code !== undefined) process.exitCode = code;
