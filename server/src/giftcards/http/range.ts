/**
 * `REST-Range` pagination of the Gift Card Provider list endpoints: the Hub asks
 * `REST-Range: resources=FROM-TO` (both indexes inclusive, 0-based: the OpenAPI's default
 * `resources=0-49` is the first 50) and the answer says what it holds in
 * `REST-Content-Range: resources FROM-TO/TOTAL` (`resources *\/TOTAL` when the page is empty), the
 * convention of VTEX's REST APIs. A page holds at most {@link MAX_GIFTCARD_PAGE} items.
 *
 * @see docs/gift-cards.md "Pagination"
 */
import type { Response } from 'express';
import { CodedError } from '@posbridge/protocol/errors';
import { MAX_GIFTCARD_PAGE } from '../../ports/giftcards.ts';
import type { PageRequest } from '../backend.ts';

/** The page asked for when there is no `REST-Range` header: the OpenAPI's default `resources=0-49`. */
export const DEFAULT_PAGE: PageRequest = { offset: 0, limit: 50 };

/** Largest index accepted in a range (a journal holds at most 10 000 entries). */
const MAX_INDEX = 1_000_000;

/**
 * The page a `REST-Range` header asks for (absent: {@link DEFAULT_PAGE}); a range wider than
 * {@link MAX_GIFTCARD_PAGE} is cut to that many.
 * @throws CodedError `PPP_INVALID_REQUEST` (400) when the header is not `resources=FROM-TO` with FROM ≤ TO.
 */
export function parseRestRange(header: string | string[] | undefined): PageRequest {
  if (header === undefined) return DEFAULT_PAGE;
  const text = Array.isArray(header) ? (header[0] ?? '') : header;
  const m = /^\s*resources\s*=\s*(\d{1,7})\s*-\s*(\d{1,7})\s*$/.exec(text);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from > to || to > MAX_INDEX) {
    throw new CodedError('PPP_INVALID_REQUEST', 'REST-Range must be resources=FROM-TO (0-based, inclusive, FROM ≤ TO)');
  }
  return { offset: from, limit: Math.min(to - from + 1, MAX_GIFTCARD_PAGE) };
}

/** Sets `REST-Content-Range` for `count` items answered from `offset` of `total`. */
export function setContentRange(res: Response, offset: number, count: number, total: number): void {
  res.setHeader('REST-Content-Range', count === 0 ? `resources */${total}` : `resources ${offset}-${offset + count - 1}/${total}`);
}
