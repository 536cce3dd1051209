// Module hooks registered (after tsx) when the engine runs compiled and a
// TypeScript file must still be loaded through tsx: another project's
// pharos.build.ts, or a reload in `watch`. An import that tsx resolves to a
// .ts file of this checkout's lib/ or tasks/ is sent to its compiled twin in
// dist/, so the process holds one copy of the engine, not two. Not under a
// `tsImport` namespace (watch's reload after an edit): that loads the source
// afresh, as it did before there was a dist/, so an edit to lib/ or tasks/ is seen.
let src = '';
let dist = '';

export function initialize(data) {
  src = data.root;
  dist = data.dist;
}

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (context.parentURL?.includes('tsx-namespace=') || specifier.includes('tsx-namespace=')) return r;
  const url = r.url;
  if (!url.startsWith(src)) return r;
  const q = url.search(/[?#]/);
  const path = q < 0 ? url : url.slice(0, q);
  const rel = path.slice(src.length);
  if (!/^(lib|tasks)\/.*\.ts$/.test(rel) || rel.endsWith('.d.ts')) return r;
  return { ...r, url: `${dist}${rel.slice(0, -3)}.js${q < 0 ? '' : url.slice(q)}`, format: 'module' };
}
