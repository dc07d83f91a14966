/** VTEX PPP bodies used by posbridge. @see docs/protocol/vtex-ppp.md */
export * from './schemas.ts';
