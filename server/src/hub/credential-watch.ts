/**
 * Closes agent sessions whose token no longer holds (docs/agent-enrolment.md "Revocation"). A
 * session is opened with a token; when the agent's token is rotated or the agent revoked, the
 * `agents` row gets another token hash and `credentials_changed_at` (ports/agent-enrolment.ts).
 * Every {@link CredentialWatchOptions.intervalMs} the watch reads the agents changed since its
 * last look (minus {@link CredentialWatchOptions.lookbackMs}, for the clocks of other processes
 * such as the CLI), one indexed query whatever the number of sessions, and closes each session of
 * those agents held here whose token hash differs (close code 4001). Sessions opened with the new
 * token stay. {@link CredentialWatch.checkNow} runs a look at once: the admin routes and the CLI
 * in the same process call it after a change, so a revoked agent is cut off immediately there,
 * and within one interval on every other instance (the rows are the cross-instance signal).
 */
import type { Logger } from 'pino';
import type { AgentEnrolmentPort } from '../ports/agent-enrolment.ts';

/** WebSocket close code of a session whose token was rotated or revoked. */
export const CLOSE_CREDENTIALS_CHANGED = 4001;

/** Pages of changes one look reads at most. */
const MAX_PAGES = 20;

/** A session as the watch sees it. */
export interface WatchedSession {
  readonly agentId: string;
  close(code: number, reason: string): void;
}

/** Options of {@link CredentialWatch}. */
export interface CredentialWatchOptions<S extends WatchedSession> {
  readonly store: Pick<AgentEnrolmentPort, 'listAgentCredentialChanges'>;
  /** This instance's sessions with the token hash each was opened with. */
  readonly sessions: () => Iterable<readonly [S, string]>;
  readonly logger: Logger;
  /** Interval between looks, ms (`POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS`). */
  readonly intervalMs: number;
  /** How far before the last look each look reads again, ms. @default 60000 */
  readonly lookbackMs?: number;
  /** Changes read per look. @default 500 */
  readonly limit?: number;
  /** Clock, ms since epoch. */
  readonly now: () => number;
}

/** The periodic check of one hub's sessions against the agents' current tokens. */
export class CredentialWatch<S extends WatchedSession> {
  readonly #o: CredentialWatchOptions<S>;
  readonly #log: Logger;
  #since: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: CredentialWatchOptions<S>) {
    this.#o = options;
    this.#log = options.logger;
    this.#since = options.now() - (options.lookbackMs ?? 60_000);
  }

  /** Starts the periodic looks. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.checkNow(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Stops them. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look now (joins a look in flight, then runs another). Never rejects: a failure is logged and the next look reads the same window. */
  async checkNow(): Promise<void> {
    const previous = this.#running;
    const run = (async () => {
      await previous;
      await this.#look();
    })();
    this.#running = run;
    await run;
  }

  async #look(): Promise<void> {
    const startedAt = this.#o.now();
    const lookback = this.#o.lookbackMs ?? 60_000;
    const limit = this.#o.limit ?? 500;
    const changes = [];
    try {
      // Page by time: a full page goes on from its last change (a page of one millisecond only
      // cannot advance: more than `limit` changes in one ms are read on the next look).
      let since = this.#since;
      for (let page = 0; page < MAX_PAGES; page++) {
        const got = await this.#o.store.listAgentCredentialChanges(since, limit);
        changes.push(...got);
        const last = got.at(-1);
        if (got.length < limit || last === undefined || last.changedAt === since) break;
        since = last.changedAt;
      }
    } catch (err) {
      this.#log.warn({ err }, 'agent credential check failed; tried again on the next tick');
      return;
    }
    this.#since = Math.max(this.#since, startedAt - lookback);
    if (changes.length === 0) return;
    // The latest change of each agent wins (pages overlap at their edges, oldest first).
    const current = new Map(changes.map((c) => [c.agentId, c]));
    for (const [session, tokenSha256] of this.#o.sessions()) {
      const change = current.get(session.agentId);
      if (change === undefined || change.tokenSha256 === tokenSha256) continue;
      this.#log.warn({ agentId: session.agentId, revoked: change.revoked }, change.revoked ? 'revoked agent disconnected' : 'agent session with a rotated token disconnected');
      session.close(CLOSE_CREDENTIALS_CHANGED, change.revoked ? 'agent revoked' : 'agent token rotated');
    }
  }
}
