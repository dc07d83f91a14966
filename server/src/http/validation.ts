/**
 * Request validation helpers of the HTTP edge: a zod parse that fails with one coded error naming
 * every offending field (docs/ppp.md "Validation and errors").
 */
import type { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';

/**
 * Turns zod issues into one message naming every offending field, `path: message` joined by `; `
 * (an issue of the whole body is named `(body)`).
 */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ');
}

/**
 * Parses `body` with `schema`.
 *
 * @param what - the request's name in the message, e.g. `Create Payment`.
 * @returns the parsed value.
 * @throws CodedError `PPP_INVALID_REQUEST` (400) naming every offending field.
 */
export function parseBody<TSchema extends z.ZodType>(schema: TSchema, body: unknown, what: string): z.infer<TSchema> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new CodedError('PPP_INVALID_REQUEST', `invalid ${what} request: ${describeIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}
