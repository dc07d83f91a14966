/** Terminal wire dialects: the PBL/1 line dialect and its CRC. @see docs/protocol/terminal-line.md */
export * from './crc16.ts';
export * from './line.ts';
