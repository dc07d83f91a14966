import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateSuites, MissingSystemProgramError, requiredPrograms } from './system-programs.ts';

const suites: Record<string, string> = {
  '/p/a.test.ts': '/**\n * Needs a pty.\n * @requires-program socat\n */\nimport x from "y";',
  '/p/b.test.ts': '/** Plain. */',
  '/p/c.test.ts': '/**\n * @requires-program chromium socat\n */',
};
const options = (env: NodeJS.ProcessEnv, lines: string[] = []) => ({
  roots: ['/p'],
  env,
  warn: (line: string) => void lines.push(line),
  list: () => ['a.test.ts', 'b.test.ts', 'c.test.ts'],
  read: (path: string) => suites[path] ?? '',
});

describe('requiredPrograms', () => {
  it('reads every @requires-program line of a header', () => {
    expect(requiredPrograms(suites['/p/c.test.ts']!)).toEqual(['chromium', 'socat']);
    expect(requiredPrograms(suites['/p/b.test.ts']!)).toEqual([]);
  });
  it('refuses a program it does not know, naming the suite', () => {
    expect(() => requiredPrograms('/** @requires-program socatt */', 'x.test.ts')).toThrow(/x\.test\.ts: .*unknown program "socatt"/);
  });
});

describe('gateSuites', () => {
  it('excludes the suites of a missing program with one loud line naming the package', () => {
    const lines: string[] = [];
    // An empty PATH and no chromium: both programs are missing.
    const excluded = gateSuites(options({ PATH: '', POSBRIDGE_CHROMIUM: '/nonexistent/chromium' }, lines));
    expect(excluded.get('/p')).toEqual(['a.test.ts', 'c.test.ts']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^!!! posbridge tests: SKIPPING 2 suites that need socat .*apt-get install socat/);
    expect(lines[1]).toMatch(/SKIPPING 1 suite that need chromium .*apt-get install chromium/);
  });

  it('fails under CI=true instead of skipping', () => {
    const lines: string[] = [];
    expect(() => gateSuites(options({ PATH: '', CI: 'true', POSBRIDGE_CHROMIUM: '/nonexistent' }, lines))).toThrow(MissingSystemProgramError);
    expect(() => gateSuites(options({ PATH: '', CI: 'true', POSBRIDGE_CHROMIUM: '/nonexistent' }))).toThrow(/socat \(Debian package socat: apt-get install socat\), needed by 2 suites/);
    expect(lines).toEqual([]);
  });

  it('runs everything, silently, when the programs are installed', () => {
    const bin = mkdtempSync(join(tmpdir(), 'posbridge-testkit-'));
    try {
      writeFileSync(join(bin, 'socat'), '#!/bin/sh\n', { mode: 0o755 });
      const lines: string[] = [];
      const excluded = gateSuites(options({ PATH: bin, CI: 'true', POSBRIDGE_CHROMIUM: process.execPath }, lines));
      expect(excluded.get('/p')).toEqual([]);
      expect(lines).toEqual([]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
