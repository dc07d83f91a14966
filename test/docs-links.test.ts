/**
 * Every reference a reader meets in the repo must open inside the repo (or be a public URL):
 * source comments and markdown may not point into a private sibling checkout, name a file that
 * does not exist, cite a heading a docs page does not have, or a § of
 * docs/protocol/vtex-ppp.md that is not there.
 *
 * Scanned: the comments of every .ts/.tsx/.js file (TypeScript's scanner finds them, so string
 * literals and imports are not read as prose) and the whole text of every .md file; .json and
 * .yml files only for the private-path patterns. A path resolves relative to the file, to the
 * repo root or to the file's package; a bare file name must exist somewhere in the repo.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'coverage', '.vite', 'web-build']);

/** Patterns that only make sense next to a private checkout of the project's notes. */
const PRIVATE = [
  { what: 'a path into ../shared', re: /(?:\.\.\/)+shared\// },
  { what: 'a path into the private notes', re: /\bshared\/(?:spec|design|STYLE)/ },
  { what: 'the private style guide', re: /\bSTYLE(?:\.md)?\s+(?:b\.\d|anti-pattern)/ },
];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(relative(ROOT, path).split(sep).join('/'));
  }
  return out;
}

const files = walk(ROOT);
const fileSet = new Set(files);
const basenames = new Set(files.map((f) => basename(f)));
const textOf = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The comments of a TypeScript/JavaScript source, joined by newlines (line numbers kept). */
function commentsOf(source: string, jsx: boolean): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, jsx ? ts.LanguageVariant.JSX : ts.LanguageVariant.Standard, source);
  const kept = source.replace(/[^\n]/g, ' ').split('');
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) {
      for (let i = scanner.getTokenStart(); i < scanner.getTokenEnd(); i++) kept[i] = source[i] ?? ' ';
    } else if (kind === ts.SyntaxKind.TemplateHead || kind === ts.SyntaxKind.TemplateMiddle) {
      // Template literals: let the scanner read past `${ … }` correctly.
      scanner.reScanTemplateToken(false);
    }
  }
  return kept.join('');
}

/** What a reader sees of `file` as prose: a source's comments, a markdown file's text. */
function proseOf(file: string): string | undefined {
  if (/\.(?:ts|js|mjs|cjs)$/.test(file)) return commentsOf(textOf(file), false);
  if (/\.tsx$/.test(file)) return commentsOf(textOf(file), true);
  if (file.endsWith('.md')) return textOf(file);
  return undefined;
}

/** The repo files `ref` (written in `file`) can name, most specific first. */
function candidatesFor(file: string, ref: string): string[] {
  const norm = (p: string): string => relative(ROOT, resolve(ROOT, p)).split(sep).join('/');
  const here = dirname(file);
  if (ref.startsWith('./') || ref.startsWith('../')) return [norm(join(here, ref))];
  const pkg = file.includes('/') ? file.slice(0, file.indexOf('/')) : '.';
  return [norm(join(here, ref)), norm(ref), norm(join(pkg, ref)), norm(join(pkg, 'src', ref))];
}

/** Resolves `ref` to a repo file, or undefined. A bare name resolves when any file has it. */
function resolveRef(file: string, ref: string): string | undefined {
  const found = candidatesFor(file, ref).find((c) => fileSet.has(c));
  if (found !== undefined) return found;
  if (!ref.includes('/') && basenames.has(ref)) return files.find((f) => basename(f) === ref);
  return undefined;
}

const PATH_REF = /(?<![\w./<>*{}$@:%#~-])((?:\.{1,2}\/)*[\w][\w./-]*\.(?:md|ts|tsx|yml|yaml))(?![\w/*-])/g;
const HEADING_REF = /(?<![\w./-])((?:\.{1,2}\/)*[\w][\w./-]*\.md)((?:(?:\s*,\s*|\s+and\s+|\s+)"[^"\n]+")+)/g;

/** Headings and bold terms of a markdown file, lower-cased, without markup. */
function anchorsOf(file: string): { headings: string[]; bold: string[] } {
  const text = textOf(file);
  const plain = (s: string): string => s.replace(/`/g, '').trim().toLowerCase();
  return {
    headings: text
      .split('\n')
      .filter((line) => /^#{1,6}\s/.test(line))
      .map((line) => plain(line.replace(/^#+\s+/, ''))),
    bold: [...text.matchAll(/\*\*([^*\n]+)\*\*/g)].map((m) => plain(m[1] ?? '')),
  };
}

/** A quoted section name is found when a heading contains it or a bold term starts with it. */
function hasAnchor(file: string, name: string): boolean {
  const wanted = name.replace(/`/g, '').trim().toLowerCase();
  const { headings, bold } = anchorsOf(file);
  return headings.some((h) => h.includes(wanted)) || bold.some((b) => b.startsWith(wanted));
}

const VTEX_PPP = 'docs/protocol/vtex-ppp.md';
/** The section numbers docs/protocol/vtex-ppp.md has (`## 4.` → 4, `### 4.2 …` → 4.2). */
const vtexSections = new Set(
  textOf(VTEX_PPP)
    .split('\n')
    .map((line) => /^#{2,3}\s+(\d+(?:\.\d+)?)\.?\s/.exec(line)?.[1])
    .filter((n): n is string => n !== undefined),
);

interface Broken {
  file: string;
  line: number;
  problem: string;
}

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Every broken reference of `file`. */
function brokenIn(file: string): Broken[] {
  const out: Broken[] = [];
  const raw = textOf(file);
  const prose = proseOf(file);
  // JSON and YAML data carry prose too (fixture notes); they are checked for private paths only.
  const privateScope = prose ?? (/\.(?:json|ya?ml)$/.test(file) ? raw : undefined);
  if (privateScope === undefined) return out;
  for (const { what, re } of PRIVATE) {
    for (const m of privateScope.matchAll(new RegExp(re.source, 'g'))) {
      out.push({ file, line: lineAt(privateScope, m.index), problem: `${what}: ${m[0]}` });
    }
  }
  if (prose === undefined) return out;

  for (const m of prose.matchAll(PATH_REF)) {
    const ref = m[1] ?? '';
    if (resolveRef(file, ref) === undefined) out.push({ file, line: lineAt(prose, m.index), problem: `no such file: ${ref}` });
  }
  for (const m of prose.matchAll(HEADING_REF)) {
    const target = resolveRef(file, m[1] ?? '');
    if (target === undefined) continue; // reported above
    for (const q of (m[2] ?? '').matchAll(/"([^"\n]+)"/g)) {
      if (!hasAnchor(target, q[1] ?? '')) {
        out.push({ file, line: lineAt(prose, m.index), problem: `${target} has no section "${q[1]}"` });
      }
    }
  }
  // § numbers: in a file that cites vtex-ppp.md, every § (except an RFC's) is one of its sections.
  if (prose.includes('vtex-ppp.md')) {
    for (const m of prose.matchAll(/(?<!RFC \d+ )§\s?(\d+(?:\.\d+)?)(?:\s*[–-]\s*(\d+(?:\.\d+)?))?/g)) {
      const first = m[1] ?? '';
      const major = first.split('.')[0] ?? '';
      const last = m[2] === undefined ? undefined : m[2].includes('.') || !first.includes('.') ? m[2] : `${major}.${m[2]}`;
      for (const n of [first, last]) {
        if (n !== undefined && !vtexSections.has(n)) {
          out.push({ file, line: lineAt(prose, m.index), problem: `${VTEX_PPP} has no §${n}` });
        }
      }
    }
  }
  return out;
}

const scanned = files.filter((f) => /\.(?:ts|tsx|js|mjs|cjs|md|json|ya?ml)$/.test(f));
const format = (b: Broken): string => `${b.file}:${b.line} ${b.problem}`;

describe('references inside the repo', () => {
  it('the scan sees the docs and the sources', () => {
    expect(scanned).toContain(VTEX_PPP);
    expect(scanned).toContain('server/src/config.ts');
    expect(vtexSections.has('4.2')).toBe(true);
  });

  it('resolve: no private paths, no missing files, headings and § that exist', () => {
    const broken = scanned.flatMap(brokenIn);
    expect(broken.map(format)).toEqual([]);
  });

  it('catches what it is for', () => {
    const probe = (text: string): boolean =>
      [...text.matchAll(PATH_REF)].some((m) => resolveRef('server/src/x.ts', m[1] ?? '') === undefined) ||
      PRIVATE.some(({ re }) => re.test(text));
    expect(probe('@see ../../../shared/spec/ppp-pos.md §2')).toBe(true);
    expect(probe('see ppp-pos.md §4.2')).toBe(true);
    expect(probe('CONTRACTS-DRAFT.md')).toBe(true);
    expect(probe('(STYLE b.5)')).toBe(true);
    expect(probe('server/src/ppp/gone.ts')).toBe(true);
    expect(probe('@see docs/protocol/vtex-ppp.md §4.2, ./config.ts, https://developers.vtex.com/a/b.md')).toBe(false);
  });
});
