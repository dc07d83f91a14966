/**
 * The soak's server side as a cluster (`npm run soak -- --instances N`): a throwaway PostgreSQL
 * and NATS, N supervised server processes on fixed loopback ports sharing both (the same submit
 * secret; submitUrls minted on instance 0's URL, which the gateway rewrites to the instance it
 * calls). Its faults:
 *
 * - `server-kill`: SIGKILL of a random instance, restarted at once;
 * - `instance-kill`: SIGKILL of a random instance, restarted after a pause (1–3 s);
 * - `postgres-restart`: PostgreSQL stopped as by a crash (`-m immediate`), started after 1 s;
 * - `nats-restart`: NATS SIGKILLed, started after 1 s.
 *
 * The instance is drawn from a generator seeded by the run's seed, so a seed replays the same kills.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { seededRandom } from '@posbridge/hardware-sim';
import { psql } from '../psql.ts';
import { startNats, startPostgres, type ThrowawayNats, type ThrowawayPostgres } from '../services.ts';
import { RECORDS_SQL, SOAK_SERVER_TIMINGS, freeLoopbackPort, issueSoakAgentToken, runToEnd, soakCredentials, type ServerRecords, type SoakBackend } from './backend.ts';
import { Supervised } from './supervised.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options of {@link startClusterBackend}. */
export interface ClusterBackendOptions {
  /** Run folder (each instance's log). */
  dir: string;
  /** Server instances, ≥ 2. */
  instances: number;
  /** Seed of the instance choices. */
  seed: number;
}

/**
 * Starts PostgreSQL, NATS and the instances (the schema migrated and the agent's token issued
 * first, by the server's CLI). @throws Error when a program is missing or an instance does not
 * start (everything started is stopped again).
 */
export async function startClusterBackend(options: ClusterBackendOptions): Promise<SoakBackend> {
  const { dir } = options;
  const undo: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const u of undo.splice(0).reverse()) await u().catch(() => undefined);
  };
  try {
    const pg: ThrowawayPostgres = await startPostgres();
    undo.push(() => pg.stop());
    await psql(pg.url, 'CREATE DATABASE posbridge');
    const nats: ThrowawayNats = await startNats();
    undo.push(() => nats.stop());
    const databaseUrl = pg.urlOf('posbridge');
    const credentials = soakCredentials();
    const ports = await Promise.all(Array.from({ length: options.instances }, () => freeLoopbackPort()));
    const serverEnv: Record<string, string> = {
      ...credentials,
      ...SOAK_SERVER_TIMINGS,
      POSBRIDGE_DATABASE_URL: databaseUrl,
      POSBRIDGE_NATS_URL: nats.url,
      POSBRIDGE_SUBMIT_SECRET: randomBytes(32).toString('base64url'),
      HOST: '127.0.0.1',
      POSBRIDGE_PUBLIC_URL: `http://127.0.0.1:${ports[0]}`,
    };
    // Children run in the run folder: nothing of theirs lands in the repository.
    try {
      await runToEnd(['server/src/cli-main.ts', 'migrate'], serverEnv, dir);
    } catch (err) {
      // A build without the command (usage error) leaves the schema to the store's open.
      if ((err as { exitCode?: number }).exitCode !== 2) throw err;
    }
    const agentToken = await issueSoakAgentToken(serverEnv, [], dir);
    const stores: string[] = [];
    const servers = ports.map(
      (port, i) =>
        new Supervised({
          name: `server-${i}`,
          args: ['server/src/cli-main.ts', 'run'],
          env: { ...serverEnv, PORT: String(port) },
          cwd: dir,
          logFile: join(dir, `server-${i}.log`),
          isReady: (l) => l.msg === 'server listening',
          onLine: (l) => {
            if (l.msg === 'server listening') stores[i] = String(l['store']);
          },
        }),
    );
    undo.push(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });
    await Promise.all(servers.map((s) => s.start()));
    const notPg = stores.findIndex((store) => !/postgres|^pg$/i.test(store));
    if (notPg >= 0) throw new Error(`server-${notPg} runs on store "${stores[notPg]}", not PostgreSQL: this server build does not take POSBRIDGE_DATABASE_URL`);

    const rnd = seededRandom(options.seed ^ 0x5eed);
    const pick = () => servers[Math.floor(rnd() * servers.length)]!;
    let pgRestarts = 0;
    let natsRestarts = 0;
    const inject = async (kind: string): Promise<boolean> => {
      switch (kind) {
        case 'server-kill':
          await pick().crashAndRestart();
          return true;
        case 'instance-kill': {
          const victim = pick();
          await victim.crash();
          await sleep(1000 + Math.floor(rnd() * 2000));
          await victim.start();
          return true;
        }
        case 'postgres-restart':
          pgRestarts++;
          await pg.kill();
          await sleep(1000);
          await pg.start();
          return true;
        case 'nats-restart':
          natsRestarts++;
          await nats.kill();
          await sleep(1000);
          await nats.start();
          return true;
        default:
          return false;
      }
    };
    const rows = async <T>(sql: string, columns: readonly string[], numeric: readonly string[] = []): Promise<T[]> =>
      (await psql(databaseUrl, sql)).map((cells) => Object.fromEntries(columns.map((c, i) => [c, numeric.includes(c) ? Number(cells[i]) : cells[i]])) as T);
    return {
      pppBaseUrls: ports.map((p) => `http://127.0.0.1:${p}`),
      hubPorts: ports,
      appKey: credentials['POSBRIDGE_APP_KEY']!,
      appToken: credentials['POSBRIDGE_APP_TOKEN']!,
      agentToken,
      inject,
      restarts: () => `instances ${servers.map((s) => s.starts - 1).join('/')}, postgres ${pgRestarts}, nats ${natsRestarts}`,
      unexpectedExits: () => servers.flatMap((s, i) => s.exitReasons.map((r) => `server-${i}: ${r}`)),
      stop: async () => {
        await Promise.all(servers.map((s) => s.stop()));
      },
      readBack: async (): Promise<ServerRecords> => ({
        payments: await rows(RECORDS_SQL.payments, ['payment_id', 'state']),
        unknown: await rows(RECORDS_SQL.unknown, ['payment_id']),
        outbox: await rows(RECORDS_SQL.outbox, ['payment_id', 'status', 'attempts'], ['attempts']),
      }),
      close: teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
