/**
 * A scripted fake `fetch` for component tests: answers per `METHOD url`, in order, and records
 * every call. An answer may be a JSON reply, a network failure, or a promise the test resolves.
 */
import type { FetchLike, FetchResponseLike } from '../api/client.ts';

/** One scripted answer. */
export type FakeAnswer =
  | { readonly status: number; readonly body: unknown }
  | { readonly networkError: string }
  | (() => Promise<FetchResponseLike>);

/** A recorded call. */
export interface FakeCall {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

/** The fake and its controls. */
export interface FakeFetch {
  readonly fetch: FetchLike;
  readonly calls: FakeCall[];
  /** Queues answers for `METHOD url`; the last one repeats once the queue is down to it. */
  on(method: 'GET' | 'POST', url: string, ...answers: FakeAnswer[]): FakeFetch;
}

/** Builds a {@link FakeFetch}. Unscripted routes answer 404 `PPP_NOT_FOUND`. */
export function fakeFetch(): FakeFetch {
  const routes = new Map<string, FakeAnswer[]>();
  const calls: FakeCall[] = [];
  const fake: FakeFetch = {
    calls,
    on(method, url, ...answers) {
      routes.set(`${method} ${url}`, [...(routes.get(`${method} ${url}`) ?? []), ...answers]);
      return fake;
    },
    fetch: async (url, init) => {
      calls.push({ method: init.method, url, body: init.body === undefined ? undefined : JSON.parse(init.body) });
      const queue = routes.get(`${init.method} ${url}`);
      const answer = queue === undefined ? undefined : queue.length > 1 ? queue.shift() : queue[0];
      if (answer === undefined) return reply(404, { code: 'PPP_NOT_FOUND', message: 'no route', retryable: false });
      if (typeof answer === 'function') return answer();
      if ('networkError' in answer) throw new TypeError(answer.networkError);
      return reply(answer.status, answer.body);
    },
  };
  return fake;
}

function reply(status: number, body: unknown): FetchResponseLike {
  return { status, json: async () => body };
}
