/**
 * Ingenico Concert V2 "protocol E+" over serial: control bytes, LRC, frames and a streaming
 * parser, request/answer payloads, and the POS side of the link layer as a pure machine.
 * Pure: Uint8Array only, no Node APIs.
 * @see ../../../../docs/protocol/terminal-concert.md
 */
export * from './constants.ts';
export * from './frame.ts';
export * from './link.ts';
export * from './lrc.ts';
export * from './payload.ts';
