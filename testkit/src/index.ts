/**
 * posbridge test support shared by every workspace (private; never imported by product code).
 * @see docs/testing.md
 */
export * from './system-programs.ts';
