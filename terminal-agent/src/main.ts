/**
 * Composition root of the agent process: load config, build the logger, start the agent,
 * handle signals. The only place that creates the root logger and installs signal handlers.
 */
import type { Logger } from 'pino';
import { isCodedError, toError } from '@posbridge/protocol/errors';
import { startAgent } from './agent.ts';
import { loadAgentConfig, readProcessEnv, redactConfig } from './config.ts';
import { createAgentLogger } from './logger.ts';
import { serverStatusPath } from './server-status.ts';
import { SqliteJournal } from './session/sqlite-journal.ts';

/** Paths pino redacts in every log line (the list shared by server, agent and simulator). */
export { REDACT_PATHS } from './logger.ts';

/**
 * Runs the agent until SIGINT/SIGTERM. Sets `process.exitCode`: 0 after a signal, 1 when the
 * agent cannot become ready (token rejected, terminal missing or mismatching), 2 on bad config.
 * @param argv - arguments after the command (`--config <file>`).
 */
export async function main(argv: readonly string[]): Promise<void> {
  let config;
  try {
    config = loadAgentConfig(readProcessEnv(), argv);
  } catch (err) {
    if (isCodedError(err) && err.code === 'CFG_INVALID') {
      process.stderr.write(`posbridge-agent: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const logger: Logger = createAgentLogger(config.logLevel);
  logger.info({ config: redactConfig(config) }, 'agent starting');

  let journal: SqliteJournal;
  try {
    journal = await SqliteJournal.open(config.journalPath);
  } catch (err) {
    const e = toError(err);
    logger.fatal({ err: e, journalPath: config.journalPath }, 'journal could not be opened');
    process.stderr.write(`posbridge-agent: ${e.message} (journalPath ${config.journalPath})\n`);
    logger.flush();
    process.exitCode = 1;
    return;
  }
  logger.info({ journalPath: journal.path }, 'journal opened');
  const agent = await startAgent({ config, logger, journal, serverStatusFile: serverStatusPath(config.journalPath) });
  let stopping = false;
  const stop = async (signal: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'agent stopping');
    try {
      await agent.close();
      await journal.close();
    } catch (err) {
      logger.error({ err: toError(err) }, 'error while stopping');
    }
    logger.flush();
    process.exitCode = exitCode;
    // Nothing else should keep the loop alive; exit explicitly in case a native handle lingers.
    setTimeout(() => process.exit(exitCode), 200).unref();
  };
  process.once('SIGINT', () => void stop('SIGINT', 0));
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  agent.ready.catch((err: unknown) => {
    const e = toError(err);
    logger.fatal({ err: e, code: isCodedError(err) ? err.code : undefined }, 'agent not ready');
    process.stderr.write(`posbridge-agent: ${e.message}\n`);
    void stop('not-ready', 1);
  });
}
