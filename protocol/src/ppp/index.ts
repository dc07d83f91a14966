/** VTEX PPP bodies used by posbridge. @see ../../shared/spec/ppp-pos.md */
export * from './schemas.ts';
