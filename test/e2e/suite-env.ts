/**
 * The environments the agent suites (`agent-*.test.ts`) start their real parts with: an
 * in-process server over SQLite in the suite's folder, and a terminal agent (a child process or
 * `startAgent`) that reaches it with short reconnect and resend timers so recovery paths stay
 * fast. Every setting is documented in server/README.md and terminal-agent/README.md.
 */
import { join } from 'node:path';

/** The merchant credentials the suite calls PPP with (`POSBRIDGE_APP_KEY` / `POSBRIDGE_APP_TOKEN`). */
export interface SuiteMerchant {
  readonly appKey: string;
  readonly appToken: string;
}

/**
 * Server settings: port 0 on loopback, the database `server.sqlite` in `dir`, the suite's
 * merchant, the partner's callback credentials, and callbacks allowed to 127.0.0.1 (the suite's
 * callback receiver). `extra` adds or overrides settings.
 */
export function suiteServerEnv(dir: string, merchant: SuiteMerchant, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    POSBRIDGE_DB: join(dir, 'server.sqlite'),
    POSBRIDGE_APP_KEY: merchant.appKey,
    POSBRIDGE_APP_TOKEN: merchant.appToken,
    POSBRIDGE_CALLBACK_APP_KEY: 'vtexappkey-partner',
    POSBRIDGE_CALLBACK_APP_TOKEN: 'partner-secret',
    POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1',
    ...extra,
  };
}

/**
 * Agent settings: the hub of the server at `serverUrl` (http(s) → ws(s) `/agent/v1`) with
 * `token`, reconnects from 50 ms capped at 300 ms, reports repeated and journal recovery every
 * 300 ms, debug logs (the suites read them). `extra` adds the terminal and overrides settings.
 */
export function suiteAgentEnv(serverUrl: string, token: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    POSBRIDGE_SERVER_URL: `${serverUrl.replace(/^http/, 'ws')}/agent/v1`,
    POSBRIDGE_AGENT_TOKEN: token,
    LOG_LEVEL: 'debug',
    POSBRIDGE_RECONNECT_BASE_MS: '50',
    POSBRIDGE_RECONNECT_CAP_MS: '300',
    POSBRIDGE_RESEND_INTERVAL_MS: '300',
    POSBRIDGE_RECOVERY_INTERVAL_MS: '300',
    ...extra,
  };
}
