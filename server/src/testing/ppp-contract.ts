/**
 * Validates PPP response bodies against VTEX's OpenAPI (`server/test-fixtures/ppp-openapi.yml`)
 * with Ajv, with the two deviations docs/ppp.md "Contract" documents (`authorizationId` null
 * until approved; `maxValue` a decimal). Used by `*.test.ts` files; not exported by the package.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import { parse } from 'yaml';

type Spec = { components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> } };

const spec = parse(readFileSync(new URL('../../test-fixtures/ppp-openapi.yml', import.meta.url), 'utf8')) as Spec;
// The OpenAPI types Create Payment's `authorizationId` as a non-null string, while docs/protocol/vtex-ppp.md §4.2
// says it is sent only when approved: posbridge sends null until approved.
spec.components.schemas['Success-Approved']!.properties['authorizationId']!['nullable'] = true;
// `maxValue` is typed integer, but it is a PPP decimal (docs/protocol/vtex-ppp.md §4.2, §9; VTEX's examples use 16.6).
spec.components.schemas['Success-Approved']!.properties['maxValue']!['type'] = 'number';
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as { default: (a: Ajv) => void }).default(ajv);
ajv.addSchema(spec, 'ppp');
const validators = new Map<string, ValidateFunction>();

/**
 * Asserts that `body` matches the OpenAPI response schema of (`path`, `method`, `status`).
 * @param path - the OpenAPI path template, e.g. `/payments/{paymentId}/cancellations`.
 */
export function expectPppContract(path: string, method: string, status: number, body: unknown): void {
  const key = `${method} ${path} ${status}`;
  let validate = validators.get(key);
  if (!validate) {
    const pointer = `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses/${status}/content/application~1json/schema`;
    validate = ajv.compile({ $ref: `ppp${pointer}` });
    validators.set(key, validate);
  }
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${key}: ${JSON.stringify(body)}`).toEqual([]);
}
