/**
 * The simulator's modules form no import cycle (type-only imports count too: a cycle of types is
 * still two modules that cannot be read, or split, one without the other). Issue 11 broke the
 * `control.ts` ⇄ `index.ts` circle by moving the handle types to `handle.ts`; this keeps it so.
 * No lint plugin for cycles is installed, so the graph is read here with TypeScript's own
 * import pre-processor (`ts.preProcessFile`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every non-test module under `dir`, as absolute paths. */
function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return modules(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Relative imports (and re-exports) of `file`, resolved to absolute paths. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
  return importedFiles.map((f) => f.fileName).filter((name) => name.startsWith('.')).map((name) => resolve(dirname(file), name));
}

/** Every cycle found by a depth-first walk, each as the list of files from its first module back to it. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    const at = stack.indexOf(node);
    if (at >= 0) {
      found.push([...stack.slice(at), node]);
      return;
    }
    if (done.has(node)) return;
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return found;
}

describe('hardware-sim import graph', () => {
  const files = modules(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const name = (f: string) => relative(SRC, f);

  it('reads the modules it should (sanity check of the walker)', () => {
    expect(files.map(name)).toEqual(expect.arrayContaining(['index.ts', 'control.ts', 'handle.ts', 'dialects/pbl1.ts']));
    expect(graph.get(join(SRC, 'control.ts'))?.map(name)).toContain('handle.ts');
  });

  it('finds a cycle when there is one (the detector works)', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('has no import cycle', () => {
    expect(cycles(graph).map((c) => c.map(name).join(' → '))).toEqual([]);
  });
});
