/**
 * Validates Gift Card Provider answers against VTEX's OpenAPI
 * (`server/test-fixtures/giftcard-provider-openapi.json`, see its README) with Ajv, and request
 * bodies posbridge's tests send against the OpenAPI's request schemas (so the tests play the Hub
 * as the contract describes it). No deviation is patched in: the OpenAPI's answer schemas of the
 * paths are what posbridge must meet. Used by `*.test.ts` files; not exported by the package.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'vitest';

const SPEC_URL = new URL('../../test-fixtures/giftcard-provider-openapi.json', import.meta.url);
const spec = JSON.parse(readFileSync(SPEC_URL, 'utf8')) as unknown;
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(spec as object, 'giftcard');
const validators = new Map<string, ValidateFunction>();

const escape = (path: string) => path.replaceAll('~', '~0').replaceAll('/', '~1');

function check(key: string, pointer: string, body: unknown): void {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `giftcard${pointer}` });
    validators.set(pointer, validate);
  }
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${key}: ${JSON.stringify(body)}`).toEqual([]);
}

/**
 * Asserts that `body` matches the OpenAPI 200 answer of (`path`, `method`).
 * @param path - the OpenAPI path template, e.g. `/giftcards/{giftCardId}/transactions`.
 */
export function expectGiftCardAnswer(path: string, method: 'get' | 'post', body: unknown): void {
  check(`${method} ${path} 200`, `#/paths/${escape(path)}/${method}/responses/200/content/application~1json/schema`, body);
}

/** Asserts that a request body the test sends matches the OpenAPI request schema of (`path`, POST). */
export function expectGiftCardRequest(path: string, body: unknown): void {
  check(`post ${path} request`, `#/paths/${escape(path)}/post/requestBody/content/application~1vnd.vtex.giftcards.v1+json/schema`, body);
}
