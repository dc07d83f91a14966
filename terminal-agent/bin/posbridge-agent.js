#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The installed program runs the compiled build (dist/, `npm run build`). In the repository,
// `node --conditions=@posbridge/source --import tsx` runs the TypeScript sources instead (docs/adr/0004).
// The flags keep an idle agent small (docs/performance.md, "Agent footprint"): a 1 MiB young
// generation (an agent handles one payment at a time) and one V8 worker thread.
import '#cli';
