/**
 * The local stack (server, simulator and agent on loopback) and its bounded shutdown, as used by
 * `npm run demo`, `npm run stack`, the bench and the end-to-end suites.
 * @see docs/testing.md
 */
export * from './local-stack.ts';
export * from './shutdown.ts';
