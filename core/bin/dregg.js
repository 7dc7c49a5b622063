#!/usr/bin/env node
// The `dregg` command. core is TypeScript run directly (no build step); tsx's loader compiles it on
// the fly, which keeps `npx dregg` working on a fresh clone right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/node/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
