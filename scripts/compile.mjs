#!/usr/bin/env node
// Compiles the engine ahead for the installed bin (run by `npm ci`/`npm install`
// through the `prepare` script, or by hand: `npm run compile`): every .ts file of
// lib/, tasks/ and pharos.build.ts becomes a .js file under dist/, transformed
// exactly as tsx transforms it when it loads the source (same esbuild, same
// options: a target's `run.toString()` is part of its cache key, so the compiled
// and the source graph must give byte-identical definitions). `import.meta.url`
// is the source file's URL, so paths relative to a module (schemas/, ansible/,
// packer/, package.json) mean the same files. The config schema's validator is
// written ahead too (lib/config/validator.ts). dist/manifest.json records what
// was compiled (each source's size and mtime, the Node and esbuild versions);
// bin/compiled.js trusts dist/ only while that still holds.
// Plain JavaScript: it runs before anything is compiled. A failure leaves no
// dist/ (the bin then runs the source through tsx) and does not fail the install.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MANIFEST, snapshot } from '../bin/compiled.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The options tsx gives esbuild for an ESM TypeScript module (tsx/dist: `transform`). */
function tsxOptions(file, tsconfigRaw) {
  return {
    target: `node${process.versions.node}`,
    loader: 'default',
    sourcemap: true,
    sourcesContent: false,
    minifyWhitespace: true,
    keepNames: true,
    format: 'esm',
    sourcefile: file,
    tsconfigRaw,
  };
}

/** Compiles `root` into `out` (default `root/dist`); returns the number of files. */
export async function compile(projectRoot = root, out = join(projectRoot, 'dist')) {
  const { transform, version } = await import('esbuild');
  const tsconfig = JSON.parse(readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8'));
  const tsconfigRaw = { compilerOptions: tsconfig.compilerOptions ?? {} };
  const snap = snapshot(projectRoot);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    for (const rel of Object.keys(snap.files)) {
      if (!rel.endsWith('.ts') || rel.endsWith('.d.ts')) continue;
      const abs = join(projectRoot, rel);
      const src = readFileSync(abs, 'utf8');
      const r = await transform(src, {
        ...tsxOptions(abs, tsconfigRaw),
        sourcemap: false,
        define: { 'import.meta.url': JSON.stringify(pathToFileURL(abs).href) },
      });
      const dest = join(tmp, rel.replace(/\.ts$/, '.js'));
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, r.code);
    }
    // The config schema's validator as Ajv standalone code (lib/config/validator.ts): no schema compile at start-up.
    const validator = join(tmp, 'lib/config/validator.js');
    const schema = join(projectRoot, 'schemas/cluster.schema.json');
    if (existsSync(validator) && existsSync(schema)) {
      const { STANDALONE_FILE, standaloneValidator } = await import(pathToFileURL(validator).href);
      writeFileSync(join(tmp, STANDALONE_FILE), await standaloneValidator(schema));
    }
    writeFileSync(join(tmp, MANIFEST), `${JSON.stringify({ ...snap, esbuild: version })}\n`);
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return Object.keys(snap.files).length;
}

async function cli() {
  const t0 = performance.now();
  try {
    const n = await compile();
    console.log(`pharos: compiled ${n} files into ${relative(process.cwd(), join(root, 'dist')) || 'dist'} in ${Math.round(performance.now() - t0)} ms`);
  } catch (e) {
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    console.warn(`pharos: could not compile the engine ahead (${e instanceof Error ? e.message.split('\n')[0] : e}); the bin runs the source through tsx`);
  }
}

// No top-level await: tests load this module under uvu's CommonJS mode too.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void cli();
