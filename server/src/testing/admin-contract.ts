/**
 * Validates admin API response bodies against the JSON Schema of docs/admin-api.md
 * (docs/admin-api.schema.json, draft 2020-12) with Ajv; and, on every body, that no secret or
 * card data slipped in (no key naming a hash, a password or first digits; no token-looking
 * value). Used by `*.test.ts` files; not exported by the package.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

const schema = JSON.parse(readFileSync(new URL('../../../docs/admin-api.schema.json', import.meta.url), 'utf8')) as { $id: string; $defs: Record<string, unknown> };
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
(addFormats as unknown as { default: (a: Ajv2020) => void }).default(ajv);
ajv.addSchema(schema);
const validators = new Map<string, ValidateFunction>();

/** Names of the schema's response definitions. */
export type AdminSchemaName = keyof typeof schema.$defs & string;

const FORBIDDEN_KEY = /hash|password|secretSha|firstDigits|appToken|callbackUrl|^token$/i;
const TOKEN_VALUE = /^pb[ks]_[A-Za-z0-9_-]{20,}$/;

function leaks(value: unknown, path: string, allowSecret: boolean): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaks(v, `${path}[${i}]`, allowSecret));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(FORBIDDEN_KEY.test(k) && !(k === 'token' && typeof v === 'object') ? [`${path}.${k}`] : []),
      ...leaks(v, `${path}.${k}`, allowSecret && k === 'secret'),
    ]);
  }
  return typeof value === 'string' && TOKEN_VALUE.test(value) && !allowSecret ? [path] : [];
}

/**
 * Asserts that `body` matches definition `name` of the schema and carries no secret (an issued
 * token's `secret` is the one value allowed to look like a token).
 */
export function expectAdminContract(name: string, body: unknown): void {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `${schema.$id}#/$defs/${name}` });
    validators.set(name, validate);
  }
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${name}: ${JSON.stringify(body).slice(0, 2000)}`).toEqual([]);
  expect(leaks(body, '$', true), `${name}: secret-looking fields`).toEqual([]);
}
