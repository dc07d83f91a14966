/**
 * Request validation helpers of the HTTP edge: a zod parse that fails with one coded error naming
 * every offending field (docs/ppp.md "Validation and errors").
 */
import type { z } from 'zod';
import { describeIssues } from '@posbridge/kit/zod-issues';
import { CodedError } from '@posbridge/protocol/errors';

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
    throw new CodedError('PPP_INVALID_REQUEST', `invalid ${what} request: ${describeIssues(parsed.error.issues, { root: '(body)' })}`);
  }
  return parsed.data;
}
