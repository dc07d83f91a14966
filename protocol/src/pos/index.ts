/** Payment App ⇄ server API schemas (submitUrl, status, terminals). */
export * from './status.ts';
