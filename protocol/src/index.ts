/**
 * @posbridge/protocol — I/O-free types, schemas and codecs shared by every posbridge part.
 * Subpaths keep consumers small: `@posbridge/protocol/ws`, `/terminal`, `/ppp`, `/money`, `/errors`, `/pos`, `/redaction`.
 */
export * from './errors.ts';
export * from './money.ts';
export * from './pos/index.ts';
export * from './ppp/index.ts';
export * from './redaction.ts';
export * from './terminal/index.ts';
export * from './ws/index.ts';
