/**
 * Validation of a connector's PPP response bodies against VTEX's OpenAPI, the copy vendored in
 * `homologate/spec/ppp-openapi.yml` (source and checksum: homologate/spec/README.md).
 *
 * A body is checked against the schema **as published** first. Only when that fails is it checked
 * against the schema with the documented {@link DEVIATIONS} applied; a body that passes only then
 * is accepted with one warning per deviation it needed, so the report always shows where a
 * connector departs from the published contract.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/** The parts of the OpenAPI document this module reads or patches. */
interface Spec {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>>;
  components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> };
}

/** A documented place where VTEX's prose contradicts its OpenAPI, and the patch that follows the prose. */
export interface Deviation {
  /** Stable id printed in warnings, e.g. `authorizationId-null`. */
  id: string;
  /** Component schema patched. */
  schema: string;
  /** Property of that schema patched. */
  property: string;
  /** Why, with the source. */
  reason: string;
  /** Patches the property's schema in place. */
  apply(property: Record<string, unknown>): void;
}

/** The deviations homologate/spec/README.md documents (the same as server/src/testing/ppp-contract.ts applies). */
export const DEVIATIONS: readonly Deviation[] = Object.freeze([
  {
    id: 'authorizationId-null',
    schema: 'Success-Approved',
    property: 'authorizationId',
    reason: 'the OpenAPI types it a non-null string, VTEX documents it as sent only when approved (null before)',
    apply: (p: Record<string, unknown>) => {
      p['nullable'] = true;
    },
  },
  {
    id: 'maxValue-decimal',
    schema: 'Success-Approved',
    property: 'maxValue',
    reason: "the OpenAPI types it integer, it is a PPP decimal amount (VTEX's example 16.6)",
    apply: (p: Record<string, unknown>) => {
      p['type'] = 'number';
    },
  },
]);

/** The outcome of validating one body. */
export interface ValidationResult {
  /** True when the body matches the published schema, or matches it with documented deviations. */
  ok: boolean;
  /** Why it does not match (empty when `ok`), e.g. `/status: must be string`. */
  errors: string[];
  /** Documented deviations the body needed to pass, one line each (empty when it matches as published). */
  warnings: string[];
}

/** The default location of the vendored spec, beside both `src/` and `dist/`. */
export const DEFAULT_SPEC_URL = new URL('../spec/ppp-openapi.yml', import.meta.url);

const addFormats = addFormatsModule as unknown as { default?: (ajv: Ajv) => void } & ((ajv: Ajv) => void);

function compiler(spec: Spec): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormats.default ?? addFormats)(ajv);
  ajv.addSchema(spec, 'ppp');
  return ajv;
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath === '' ? '(body)' : e.instancePath}: ${e.message ?? e.keyword}`);
}

/**
 * The PPP response contract: validators per (path template, method, status), compiled lazily.
 * Throws at construction when the spec file cannot be read or parsed.
 */
export class PppContract {
  readonly #spec: Spec;
  readonly #strict: Ajv;
  readonly #relaxed: Ajv;
  readonly #cache = new Map<string, { strict: ValidateFunction; relaxed: ValidateFunction } | null>();

  /** @param specText - the OpenAPI document as YAML text. */
  constructor(specText: string) {
    this.#spec = parse(specText) as Spec;
    const relaxed = parse(specText) as Spec;
    for (const d of DEVIATIONS) {
      const property = relaxed.components.schemas[d.schema]?.properties?.[d.property];
      if (!property) throw new Error(`deviation ${d.id}: ${d.schema}.${d.property} is not in the spec`);
      d.apply(property);
    }
    this.#strict = compiler(this.#spec);
    this.#relaxed = compiler(relaxed);
  }

  /** Reads the vendored spec (or the file at `url`). */
  static load(url: URL = DEFAULT_SPEC_URL): PppContract {
    return new PppContract(readFileSync(url, 'utf8'));
  }

  /**
   * Validates `body`, the JSON answer of `method path` with HTTP `status`.
   * @param path - the OpenAPI path template, e.g. `/payments/{paymentId}/settlements`.
   * @param method - lower case, e.g. `post`.
   * A status the OpenAPI does not document for that operation is an error.
   */
  validate(path: string, method: string, status: number, body: unknown): ValidationResult {
    const validators = this.#validators(path, method.toLowerCase(), status);
    if (!validators) return { ok: false, errors: [`the OpenAPI documents no JSON answer ${status} for ${method.toUpperCase()} ${path}`], warnings: [] };
    if (validators.strict(body)) return { ok: true, errors: [], warnings: [] };
    const strictErrors = validators.strict.errors ?? [];
    if (!validators.relaxed(body)) return { ok: false, errors: describe(validators.relaxed.errors), warnings: [] };
    const warnings = strictErrors.map((e) => {
      const d = DEVIATIONS.find((x) => e.instancePath === `/${x.property}`);
      const name = d ? `${d.id} (${d.reason})` : 'a documented deviation';
      return `${method.toUpperCase()} ${path} ${status}: ${e.instancePath}: ${e.message ?? e.keyword} — accepted under ${name}`;
    });
    return { ok: true, errors: [], warnings: [...new Set(warnings)] };
  }

  #validators(path: string, method: string, status: number): { strict: ValidateFunction; relaxed: ValidateFunction } | null {
    const key = `${method} ${path} ${status}`;
    if (this.#cache.has(key)) return this.#cache.get(key) ?? null;
    const documented = this.#spec.paths[path]?.[method]?.responses?.[String(status)]?.content?.['application/json'];
    let found: { strict: ValidateFunction; relaxed: ValidateFunction } | null = null;
    if (documented) {
      const pointer = `ppp#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses/${status}/content/application~1json/schema`;
      found = { strict: this.#strict.compile({ $ref: pointer }), relaxed: this.#relaxed.compile({ $ref: pointer }) };
    }
    this.#cache.set(key, found);
    return found;
  }
}
