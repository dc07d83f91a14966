#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --lite-mode --no-expose-wasm
// The installed program runs the compiled build (dist/, `npm run build`). In the repository,
// `node --conditions=@posbridge/source --import tsx` runs the TypeScript sources instead (docs/adr/0004).
// The V8 flags keep an idle agent under 60 MiB (docs/performance.md, "Agent footprint"): a 1 MiB
// young generation and one V8 worker thread (an agent handles one payment at a time), and lite
// mode, which interprets JavaScript instead of compiling it to machine code (no WebAssembly, so
// --no-expose-wasm says so rather than warning on every start). npm's Windows shims pass the
// flags on too (cmd-shim reads `env -S` shebangs).
import '#cli';
