/** Terminal wire dialects: the PBL/1 line dialect and its CRC, and Concert E+. @see docs/protocol/terminal-line.md, docs/protocol/terminal-concert.md */
export * from './crc16.ts';
export * from './line.ts';
export * from './concert/index.ts';
export * from './test-outcomes.ts';
export * from './totals.ts';
