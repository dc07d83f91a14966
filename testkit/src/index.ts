/**
 * posbridge test support shared by every workspace (private; never imported by product code):
 * which optional system programs the suites need, the one polling {@link waitFor}, a throwaway
 * TLS PKI and the VTEX gateway double (the gateway's calls, its callback endpoint and the
 * inStore app's terminal submit). These have no posbridge dependency, so any package's tests may
 * import them; the local stack (`@posbridge/testkit/stack`) and the soak
 * (`@posbridge/testkit/soak`) start the real packages and live behind their own entry points.
 * @see docs/testing.md
 */
export * from './system-programs.ts';
export * from './wait-for.ts';
export * from './tls-pki.ts';
export * from './vtex-gateway.ts';
export * from './services.ts';
export * from './psql.ts';
export * from './source-node.ts';
