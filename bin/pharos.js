#!/usr/bin/env node
// Entry of the `pharos` bin: registers tsx (TypeScript runs without a build
// step, and pharos.build.ts is TypeScript too), then runs lib/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
const code = await main(process.argv);
// Let pending output drain, then exit even if a stray handle is left open.
process.exitCode = code;
if (process.stdout.writableNeedDrain) await new Promise((r) => process.stdout.once('drain', r));
process.exit(code);
