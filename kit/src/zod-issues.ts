/**
 * Human-readable validation messages from zod issues (https://zod.dev/api?id=error-handling):
 * one `path: message` per issue, the path dot-joined (`terminals.0.port: Required`), so an
 * operator or an API client sees every offending field at once.
 *
 * Structurally typed (`{ path, message }`): works with zod 4's `error.issues` without importing zod.
 */

/** The part of a zod issue these helpers read. */
export interface IssueLike {
  /** Where the value failed: object keys and array indexes from the root. */
  readonly path: readonly PropertyKey[];
  /** zod's message for the failure. */
  readonly message: string;
}

/** Options of {@link issueLines} and {@link describeIssues}. */
export interface IssueFormatOptions {
  /** What an issue about the whole value reads as its path (e.g. `(body)`, `(env)`). @default "(root)" */
  readonly root?: string;
  /**
   * Renames the first path segment, e.g. a config key to the setting the operator wrote
   * (`serverUrl` → `serverUrl (POSBRIDGE_SERVER_URL)`). @default the segment itself
   */
  readonly rename?: (head: string) => string;
}

/** One `path: message` line per issue, in zod's order. */
export function issueLines(issues: readonly IssueLike[], options: IssueFormatOptions = {}): string[] {
  const root = options.root ?? '(root)';
  return issues.map((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const where = head === undefined ? '' : [options.rename ? options.rename(head) : head, ...rest].join('.');
    return `${where || root}: ${issue.message}`;
  });
}

/** Every issue on one line, `; `-separated: `amount: Too small; currency: Required`. */
export function describeIssues(issues: readonly IssueLike[], options: IssueFormatOptions = {}): string {
  return issueLines(issues, options).join('; ');
}
