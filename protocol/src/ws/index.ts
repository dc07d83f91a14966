/** Hub⇄agent WebSocket messages: schemas, types and codec. @see docs/protocol/ws.md */
export * from './messages.ts';
export * from './codec.ts';
export * from './trace.ts';
