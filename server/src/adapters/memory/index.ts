/**
 * The memory adapter: every port (../../ports/) over one {@link MemoryState}, with the semantics
 * of the SQLite adapter (both pass the same contract suites, ../../ports/*.contract.ts). For
 * tests and single-process development: nothing survives the process.
 *
 * Time passes only through the arguments (no clock is read here).
 */
import type { PaymentStore } from '../../ports/index.ts';
import { bindPort } from '../bind-port.ts';
import { MemoryAdmin } from './admin.ts';
import { MemoryAgentCommands } from './agent-commands.ts';
import { MemoryAgentEnrolment } from './agent-enrolment.ts';
import { MemoryTotals } from './totals.ts';
import { MemoryCallbackOutbox } from './callback-outbox.ts';
import { MemoryCounters } from './counters.ts';
import { MemoryDirectory } from './directory.ts';
import { MemoryPaymentEvents } from './events.ts';
import { MemoryGiftCards } from './giftcards.ts';
import { MemoryMeta } from './meta.ts';
import { MemoryOnboardingTokens } from './onboarding-tokens.ts';
import { MemoryOperations } from './operations.ts';
import { MemoryPayments } from './payments.ts';
import { createMemoryState, MemoryConnection, type MemoryState } from './state.ts';

export { createMemoryState, type MemoryState, type MemoryTables } from './state.ts';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The state to work on, shared with other stores made on it (as two connections share one
   * database file); closing one store leaves the state to the others. @default a new empty state
   */
  readonly state?: MemoryState;
}

/** A {@link PaymentStore} in memory. `close()` refuses later calls on this store (`STORE_FAILED`). */
export function createMemoryStore(options: MemoryStoreOptions = {}): PaymentStore {
  const conn = new MemoryConnection(options.state ?? createMemoryState());
  return {
    ...bindPort(new MemoryPayments(conn)),
    ...bindPort(new MemoryPaymentEvents(conn)),
    ...bindPort(new MemoryCallbackOutbox(conn)),
    ...bindPort(new MemoryOperations(conn)),
    ...bindPort(new MemoryDirectory(conn)),
    ...bindPort(new MemoryMeta(conn)),
    ...bindPort(new MemoryAgentCommands(conn)),
    ...bindPort(new MemoryCounters(conn)),
    ...bindPort(new MemoryOnboardingTokens(conn)),
    ...bindPort(new MemoryGiftCards(conn)),
    ...bindPort(new MemoryAgentEnrolment(conn)),
    ...bindPort(new MemoryTotals(conn)),
    ...bindPort(new MemoryAdmin(conn)),
    close: () => conn.close(),
  };
}
