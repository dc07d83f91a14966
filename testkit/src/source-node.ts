/**
 * How a child process runs this repository's TypeScript sources instead of the compiled dist/
 * (docs/adr/0004): Node's `--conditions=@posbridge/source` makes every workspace package's
 * `exports` (and a bin's `#cli` import) resolve to its src/*.ts, and tsx's loader runs them.
 */

/** The export condition that maps each workspace package to its TypeScript sources. */
export const SOURCE_CONDITION = '@posbridge/source';

/** tsx's loader as a file URL, so a child started outside the repository still finds it. */
export const TSX_LOADER = import.meta.resolve('tsx');

/** Node flags, placed before the script, that run the sources: the condition and tsx's loader. */
export const SOURCE_NODE_ARGS: readonly string[] = [`--conditions=${SOURCE_CONDITION}`, '--import', TSX_LOADER];
