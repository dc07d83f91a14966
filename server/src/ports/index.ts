/**
 * The persistence ports of the server, one per job, and {@link PaymentStore}, their
 * intersection. Domain types in, domain types out: no SQL, no rows, no driver types cross these
 * interfaces, so a new database is a new adapter (adapters/memory, adapters/sqlite), checked by
 * the same contract suites (./*.contract.ts).
 *
 * Times are ms since epoch. Money is integer minor units + ISO 4217 alpha code.
 */
import type { AdminPort } from './admin.ts';
import type { AgentCommandsPort } from './agent-commands.ts';
import type { AgentEnrolmentPort } from './agent-enrolment.ts';
import type { CallbackOutboxPort } from './callback-outbox.ts';
import type { CountersPort } from './counters.ts';
import type { DirectoryPort } from './directory.ts';
import type { GiftCardsPort } from './giftcards.ts';
import type { PaymentEventsPort } from './events.ts';
import type { MetaPort } from './meta.ts';
import type { OnboardingTokensPort } from './onboarding-tokens.ts';
import type { OperationsPort } from './operations.ts';
import type { PaymentsPort } from './payments.ts';
import type { TotalsPort } from './totals.ts';

export * from './admin.ts';
export * from './agent-commands.ts';
export * from './agent-enrolment.ts';
export * from './callback-outbox.ts';
export * from './counters.ts';
export * from './directory.ts';
export * from './events.ts';
export * from './giftcards.ts';
export * from './leases.ts';
export * from './meta.ts';
export * from './onboarding-tokens.ts';
export * from './operations.ts';
export * from './payments.ts';
export * from './totals.ts';

/**
 * Everything the server persists: every port over one database, so that a change and its
 * effects (events, callbacks, agent commands) commit together. All methods may reject with
 * `CodedError('STORE_FAILED')`.
 */
export interface PaymentStore
  extends PaymentsPort,
    PaymentEventsPort,
    CallbackOutboxPort,
    OperationsPort,
    DirectoryPort,
    MetaPort,
    AgentCommandsPort,
    CountersPort,
    OnboardingTokensPort,
    GiftCardsPort,
    AgentEnrolmentPort,
    TotalsPort,
    AdminPort {
  /** Releases the underlying database; nothing may be called afterwards. */
  close(): Promise<void>;
  /**
   * A cheap round trip to the database (e.g. `SELECT 1` on a pooled connection) for readiness
   * (`/readyz`): resolves when the database answers. Optional: without it readiness does a
   * primary-key read (`getMeta`) instead. The caller bounds it with its own time-out and caches
   * the answer, so an adapter need not.
   * @throws CodedError `STORE_FAILED` when the database does not answer.
   */
  ping?(): Promise<void>;
}
