/**
 * `posbridge-sim --help` documents every option, and so does the README's option table; the
 * command prints exactly {@link USAGE} and exits 0.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { describe, expect, it } from 'vitest';
import { CLI_OPTIONS, USAGE } from './cli-usage.ts';
import { CONTROL_ACTIONS } from './control.ts';
import { SALE_BEHAVIOURS } from './scenarios/outcomes.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const names = Object.keys(CLI_OPTIONS);

describe('posbridge-sim command line', () => {
  it.each(names)('--%s is in --help and in the README option table', (name) => {
    expect(USAGE).toMatch(new RegExp(`^  (-h, )?--${name}\\b`, 'm'));
    expect(readme).toMatch(new RegExp(`^\\|[^\\n]*\`--${name}\\b`, 'm'));
  });

  it('--help lists every behaviour of --force-outcome and every control action', () => {
    const flat = USAGE.replace(/\s+/g, ' ');
    for (const b of SALE_BEHAVIOURS) expect(flat).toContain(b);
    for (const a of CONTROL_ACTIONS) expect(flat).toContain(a);
  });

  it('prints the usage and exits 0', async () => {
    const bin = fileURLToPath(new URL('../bin/posbridge-sim.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [...SOURCE_NODE_ARGS, bin, '--help'], { timeout: 20_000 });
    expect(stdout).toBe(USAGE);
  }, 30_000);
});
