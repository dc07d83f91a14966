/**
 * `npm run stack` — server, simulated terminal and agent, running for other tools to drive
 * (the Payment App's browser test, an independent PPP client, a person with curl).
 *
 * Contract (kept by test/e2e/stack-contract.test.ts):
 * - honours `PORT` (`0` = any free port; default 8080);
 * - when ready, prints exactly one JSON line on stdout:
 *   `{"event":"ready","pppBaseUrl":"http://127.0.0.1:<port>","appKey":"…","appToken":"…","terminals":[{"serialNumber":"…"}],
 *   "giftcard":{"serviceUrl":"http://127.0.0.1:<port>/giftcard-provider/posbridge-local","appKey":"…","appToken":"…"},
 *   "adminToken":"…","consoleUrl":"http://127.0.0.1:<port>/console/"}`
 *   (`giftcard`: the stack merchant's Gift Card Provider, docs/gift-cards.md, with an empty ledger;
 *   `adminToken`: an admin API token with role operator, docs/admin-api.md)
 * - logs go to stderr as JSON lines;
 * - SIGTERM or SIGINT stops it cleanly, socat included, and removes its temporary folder; it
 *   exits within `STACK_EXIT_TIMEOUT_MS` whatever hangs (status 1, printing what was still open).
 *
 * With `--instances N` (N ≥ 2; kept by test/e2e/cluster-stack.test.ts, issue 12 item 7) it is the
 * cluster instead (testkit/src/cluster-stack.ts): PostgreSQL (throwaway or
 * `POSBRIDGE_DATABASE_URL`), NATS (throwaway or `POSBRIDGE_NATS_URL`), N server processes on
 * free loopback ports (`PORT` is not used), one agent knowing every hub URL; the ready line adds
 * `"store":"postgres","bus":"nats","instances":[{"pppBaseUrl","pid"},…],"agent":{"pid"}`, printed
 * once the agent is counted by an instance's `/healthz`. `pppBaseUrl` is instance 0's.
 */
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { logRedaction } from '@posbridge/protocol/redaction';
import { startClusterStack, startLocalStack, armExitWatchdog } from '@posbridge/testkit/stack';

/** The stack exits at most this long after SIGTERM/SIGINT, ms (each close step is bounded to 5 s). */
const STACK_EXIT_TIMEOUT_MS = 25_000;
/** The same for the cluster, which has more steps (N servers, NATS, PostgreSQL). */
const CLUSTER_EXIT_TIMEOUT_MS = 45_000;

const HELP = `Usage: npm run stack [-- options]

Starts the posbridge server (SQLite in a temporary folder), one simulated terminal on a
pseudo-terminal and a connected agent, then prints one JSON "ready" line on stdout
(pppBaseUrl, appKey, appToken, terminals, and adminToken: an admin API token with role
operator, consoleUrl: <pppBaseUrl>/console/; docs/admin-api.md). Logs go to stderr. Stop with Ctrl-C or SIGTERM: it exits within 25 s (status 1 and a list of
what was still open when it had to force the exit). The merchant has VTEX Test Suite mode on:
requests with X-VTEX-API-Is-TestSuite: true run on its virtual terminal, with no clerk
(docs/homologation.md); requests without it are ordinary POS payments. The ready line's
"giftcard" ({"serviceUrl","appKey","appToken"}) is the merchant's Gift Card Provider, with an
empty ledger, as VTEX's Gift Card Hub would be registered with it (docs/gift-cards.md).

With --instances N (N ≥ 2) it starts the cluster instead: a PostgreSQL server (throwaway, from
the machine's binaries) and a NATS server (throwaway), N server processes on free loopback
ports sharing them, the simulated terminal and ONE agent process that knows every instance's
hub URL. The ready line then also has "store":"postgres", "bus":"nats", "instances" (each
instance's pppBaseUrl and the pid of its server process) and "agent" ({"pid"}); pppBaseUrl is
instance 0's, and submitUrls are minted on it unless POSBRIDGE_PUBLIC_URL is set. It needs
postgresql, nats-server and socat installed, and exits within 45 s of Ctrl-C/SIGTERM.

Environment:
  PORT        HTTP port of the server; 0 = any free port (default 8080; single instance only)
  LOG_LEVEL   pino level of the stderr logs (default info)
  POSBRIDGE_CALLBACK_ALLOW_HOSTS
              callback hosts allowed besides loopback, host[:port],… (loopback always is)
  POSBRIDGE_DATABASE_URL  (--instances) use this PostgreSQL database instead of a throwaway server
  POSBRIDGE_NATS_URL      (--instances) use this NATS server instead of a throwaway one
  POSBRIDGE_PUBLIC_URL    (--instances) base of the submitUrls (default instance 0's URL)

Options:
  --instances <n>      server instances: 1 = the single embedded server (default), 2–16 = the cluster
  --serial <serial>    serial number of the simulated terminal (default SIM0001)
  --step-delay-ms <n>  simulator think time between terminal stages (default 250)
  -h, --help           show this help`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    instances: { type: 'string', default: '1' },
    serial: { type: 'string', default: 'SIM0001' },
    'step-delay-ms': { type: 'string', default: '250' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const port = Number(process.env['PORT'] ?? '8080');
const stepDelayMs = Number(values['step-delay-ms']);
const instances = Number(values.instances);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(stepDelayMs) || stepDelayMs < 0 || !Number.isInteger(instances) || instances < 1 || instances > 16) {
  process.stderr.write(`PORT must be 0–65535, --step-delay-ms a whole number ≥ 0 and --instances 1–16\n\n${HELP}\n`);
  process.exit(2);
}

// The same redaction and token masking as the three programs' own root loggers.
const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info', ...logRedaction() }, pino.destination({ fd: 2, sync: true }));

/** Stops `close` on SIGTERM/SIGINT within `exitTimeoutMs`, then exits (0 when it closed cleanly). */
function stopOnSignals(close: () => Promise<void>, exitTimeoutMs: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stack stopping');
    armExitWatchdog({ afterMs: exitTimeoutMs, what: 'the stack', code: 1 });
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stack did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const callbackAllowHosts = process.env['POSBRIDGE_CALLBACK_ALLOW_HOSTS'];
if (instances >= 2) {
  // A signal during start-up stops what was started so far (the start rejects, then exit 1).
  const starting = new AbortController();
  try {
    const env = (name: string) => (process.env[name] === undefined || process.env[name] === '' ? undefined : process.env[name]);
    const databaseUrl = env('POSBRIDGE_DATABASE_URL');
    const natsUrl = env('POSBRIDGE_NATS_URL');
    const publicUrl = env('POSBRIDGE_PUBLIC_URL');
    const earlyStop = () => {
      logger.info('stack stopping during start-up');
      armExitWatchdog({ afterMs: CLUSTER_EXIT_TIMEOUT_MS, what: 'the stack', code: 1 });
      starting.abort();
    };
    process.once('SIGTERM', earlyStop);
    process.once('SIGINT', earlyStop);
    const stack = await startClusterStack({
      logger,
      instances,
      serialNumber: values.serial,
      stepDelayMs,
      signal: starting.signal,
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(natsUrl ? { natsUrl } : {}),
      ...(publicUrl ? { publicUrl } : {}),
      ...(callbackAllowHosts ? { callbackAllowHosts } : {}),
    });
    process.off('SIGTERM', earlyStop);
    process.off('SIGINT', earlyStop);
    stopOnSignals(() => stack.close(), CLUSTER_EXIT_TIMEOUT_MS);
    const ready = {
      event: 'ready',
      pppBaseUrl: stack.pppBaseUrl,
      appKey: stack.appKey,
      appToken: stack.appToken,
      terminals: stack.terminals.map((t) => ({ serialNumber: t.serialNumber })),
      giftcard: stack.giftcard,
      adminToken: stack.adminToken,
      consoleUrl: stack.consoleUrl,
      store: 'postgres',
      bus: 'nats',
      instances: stack.instances.map((i) => ({ pppBaseUrl: i.pppBaseUrl, pid: i.pid() })),
      agent: { pid: stack.agent.pid },
    };
    // The folders it made (all removed on exit) and the simulator's control interface, for tools.
    const dirs = [stack.dir, ...(stack.postgres ? [dirname(stack.postgres.dataDir)] : [])];
    logger.info({ dir: stack.dir, dirs, simControlUrl: stack.simControlUrl, instances: ready.instances, agent: ready.agent }, 'cluster stack ready');
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } catch (err) {
    logger.fatal({ err }, 'cluster stack failed to start');
    process.exit(1);
  }
} else {
  try {
    const stack = await startLocalStack({ logger, port, serialNumber: values.serial, stepDelayMs, testSuiteMode: true, ...(callbackAllowHosts ? { callbackAllowHosts } : {}) });
    stopOnSignals(() => stack.close(), STACK_EXIT_TIMEOUT_MS);
    logger.info({ dir: stack.dir, pppBaseUrl: stack.pppBaseUrl, terminals: stack.terminals }, 'local stack ready');
    process.stdout.write(
      `${JSON.stringify({
        event: 'ready',
        pppBaseUrl: stack.pppBaseUrl,
        appKey: stack.appKey,
        appToken: stack.appToken,
        terminals: stack.terminals.map((t) => ({ serialNumber: t.serialNumber })),
        giftcard: stack.giftcard,
        adminToken: stack.adminToken,
        consoleUrl: stack.consoleUrl,
      })}\n`,
    );
  } catch (err) {
    logger.fatal({ err }, 'stack failed to start');
    process.exit(1);
  }
}
