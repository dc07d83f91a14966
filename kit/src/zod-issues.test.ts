import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeIssues, issueLines } from './zod-issues.ts';

const Schema = z.object({ amount: z.number().int().positive(), terminals: z.array(z.object({ port: z.string() })) });

describe('zod issue formatting', () => {
  it('names every offending field by its dotted path', () => {
    const parsed = Schema.safeParse({ amount: -1, terminals: [{ port: 3 }] });
    expect(parsed.success).toBe(false);
    const text = describeIssues(parsed.error!.issues, { root: '(body)' });
    expect(text.split('; ')).toHaveLength(2);
    expect(text).toMatch(/^amount: .+; terminals\.0\.port: .+$/);
  });

  it('an issue about the whole value reads the root label', () => {
    const parsed = Schema.safeParse('nope');
    expect(issueLines(parsed.error!.issues, { root: '(env)' })[0]).toMatch(/^\(env\): /);
    expect(issueLines([{ path: [], message: 'bad' }])).toEqual(['(root): bad']);
  });

  it('renames the first segment only', () => {
    const lines = issueLines([{ path: ['serverUrl', 'host'], message: 'bad' }, { path: [Symbol('s'), 0], message: 'odd' }], {
      rename: (head) => (head === 'serverUrl' ? 'serverUrl (POSBRIDGE_SERVER_URL)' : head),
    });
    expect(lines).toEqual(['serverUrl (POSBRIDGE_SERVER_URL).host: bad', 'Symbol(s).0: odd']);
  });
});
