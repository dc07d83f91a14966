/**
 * The local stack (server, simulator and agent on loopback), the cluster stack (N servers on
 * PostgreSQL and NATS, one agent) and their bounded shutdown, as used by
 * `npm run demo`, `npm run stack`, the bench and the end-to-end suites.
 * @see docs/testing.md
 */
export * from './local-stack.ts';
export * from './shutdown.ts';
export * from './collected-logs.ts';
export * from './cluster-stack.ts';
