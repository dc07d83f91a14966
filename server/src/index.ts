/**
 * @posbridge/server — the VTEX PPP connector for Venda Direta (in-store) card payments and the
 * WebSocket hub terminal agents connect to.
 *
 * @see ../README.md, ../../docs/architecture.md
 */
export { loadServerConfig, type ServerConfig, type AppCredentials, type CallbackConfig } from './config.ts';
export { startServer, type RunningServer, type StartServerOptions } from './main.ts';
export { buildServer, type BuildServerOptions, type ComposedServer } from './compose.ts';
export { STORE_FACTORIES, openStore, type StoreFactory, type StoreRegistry } from './store-factory.ts';
export { createRootLogger, REDACT_PATHS } from './logger.ts';
export { issueProviderCredentials, type IssuedProviderCredentials } from './giftcards/provider-credentials.ts';
export { issueApiToken, type IssuedApiToken, type NewApiToken } from './admin/credentials.ts';
export { ADMIN_API_PATH, CONSOLE_PATH } from './admin/router.ts';
export type {
  PaymentStore,
  Payment,
  NewPayment,
  PaymentChange,
  CreatePaymentResult,
  CallbackEntry,
  CallbackStatus,
  ClaimedCallback,
  Lease,
  PaymentEventRecord,
  AgentRecord,
  TerminalRecord,
  NewCallback,
} from './ports/index.ts';
export type { PaymentStatus, PaymentMachineState, TerminalBinding, TerminalOutcome } from './domain/payment-machine.ts';
export type { AgentEventHandler, AgentReportOutcome } from './ports/agent-events.ts';
export type { Presence, TerminalLookup } from './ports/presence.ts';
export type { AgentCommandRecord, AgentCommandsPort, NewAgentCommand } from './ports/agent-commands.ts';
export type { IssuedAgentToken } from './hub/agent-tokens.ts';
