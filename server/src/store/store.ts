/**
 * The persistence contract of the server, re-exported from its home, ../ports/ (one port per
 * job; `PaymentStore` is their intersection). Kept so existing importers compile unchanged.
 */
export * from '../ports/index.ts';
