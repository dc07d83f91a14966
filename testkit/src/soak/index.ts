/**
 * The fault-injection soak (`npm run soak`, docs/reliability.md): its seeded plan, its run, the
 * invariants checked at the end, and the child-process supervisor and TCP proxy it drives.
 * @see docs/reliability.md
 */
export * from './invariants.ts';
export * from './plan.ts';
export * from './run.ts';
export * from './supervised.ts';
export * from './tcp-proxy.ts';
