/**
 * Every port contract suite, for an adapter's contract test to run at once (the same
 * assertions for every adapter: adapters/memory/memory-contract.test.ts,
 * adapters/sqlite/sqlite-contract.test.ts).
 */
import { agentEnrolmentContract } from './agent-enrolment.contract.ts';
import { adminAuditContract } from './admin-audit.contract.ts';
import { adminContract } from './admin.contract.ts';
import { callbackOutboxContract } from './callback-outbox.contract.ts';
import { portOfStore, type StoreFactory } from './contract-helpers.ts';
import { countersContract } from './counters.contract.ts';
import { directoryContract } from './directory.contract.ts';
import { eventsContract } from './events.contract.ts';
import { giftCardsContract } from './giftcards.contract.ts';
import { metaContract } from './meta.contract.ts';
import { onboardingTokensContract } from './onboarding-tokens.contract.ts';
import { operationsContract } from './operations.contract.ts';
import { paymentsContract } from './payments.contract.ts';
import { totalsContract } from './totals.contract.ts';

export type { StoreFactory } from './contract-helpers.ts';

/** Registers every port contract against stores made by `factory` (each call: a new, empty store); `name` titles the suites that take one. */
export function storeContracts(factory: StoreFactory, name = 'store'): void {
  paymentsContract(factory);
  eventsContract(factory);
  callbackOutboxContract(factory);
  operationsContract(factory);
  directoryContract(factory);
  metaContract(factory);
  agentEnrolmentContract(factory);
  totalsContract(factory);
  adminContract(factory);
  adminAuditContract(factory);
  // The shared-state contracts take just their port (the PostgreSQL classes run them alone too).
  countersContract(name, portOfStore(factory, (store) => store));
  onboardingTokensContract(name, portOfStore(factory, (store) => store));
  giftCardsContract(name, portOfStore(factory, (store) => store));
}
