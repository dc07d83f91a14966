/** The platform's `fetch` (React Native and browsers both have one) as a {@link FetchLike}. */
import type { FetchLike } from './client.ts';

/** Calls the global `fetch` at call time, so a host may replace it after import. */
export const platformFetch: FetchLike = (url, init) => fetch(url, init);
