#!/usr/bin/env node
// Entry of the `pharos` bin. When dist/ holds this checkout's engine compiled
// ahead (scripts/compile.mjs, run by `npm ci`) and is not stale (bin/compiled.js),
// it runs that: no TypeScript loader is started unless a .ts file must be loaded
// (another project's pharos.build.ts). Otherwise (no dist/, or a source edited
// since it was compiled, or PHAROS_SOURCE=1) it registers tsx and runs lib/ as is.
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiledFresh } from './compiled.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const compiled = process.env.PHAROS_SOURCE !== '1' && compiledFresh(root);
let tsx = false;
/** Starts tsx (once); when compiled, with hooks that send this checkout's lib/ and tasks/ to dist/. */
async function registerTsx() {
  if (tsx) return;
  tsx = true;
  const { register } = await import('tsx/esm/api');
  register();
  if (compiled) {
    const { register: registerHooks } = await import('node:module');
    const base = pathToFileURL(root).href;
    registerHooks('./hooks.js', import.meta.url, { data: { root: `${base}/`, dist: `${base}/dist/` } });
  }
}
globalThis[Symbol.for('pharos.runtime')] = { compiled, root, registerTsx };
if (!compiled) await registerTsx();
const { main } = await import(compiled ? '../dist/lib/cli/main.js' : '../lib/cli/main.ts');
const code = await main(process.argv);
// Let pending output drain, then exit even if a stray handle is left open.
process.exitCode = code;
if (process.stdout.writableNeedDrain) await new Promise((r) => process.stdout.once('drain', r));
process.exit(code);
