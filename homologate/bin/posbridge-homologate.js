#!/usr/bin/env node
// The installed program runs the compiled build (dist/, `npm run build`). In the repository,
// `node --conditions=@posbridge/source --import tsx` runs the TypeScript sources instead (docs/adr/0004).
import '#cli';
