/**
 * The cache key of a target and how two keys differ. A target is up to date
 * when the key computed now equals the key recorded at its last success (and
 * its output files and live probe agree). Every component is stored, not only
 * the hash, so `pharos why` can name the first one that changed.
 */
import { digestString } from './hash.js';

export interface CacheKey {
  /** Two targets with identical specs still own separate results. */
  name: string;
  /**
   * Digest of the definition: source text of run/probe/outputFiles plus the static
   * spec (dep names, inputs, env names, tools, pool). Editing a target's code
   * rebuilds it, even when no input file changed.
   */
  definition: string;
  /** Key-sorted JSON of `params`: the config slice that shapes the result. */
  params: string;
  /** Input file (relative to root) -> content digest: the files the target reads. */
  inputs: Record<string, string>;
  /**
   * Dependency name -> digest of its output (value + output files). Carrying the
   * output digest, not the dep's key, gives early cutoff: a dep that rebuilt to
   * the same output does not make this target dirty.
   */
  deps: Record<string, string>;
  /** Declared environment variable -> value (null when unset): undeclared env never leaks in. */
  env: Record<string, string | null>;
  /** Tool -> first line of its version output: a tool upgrade can change results. */
  tools: Record<string, string>;
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortDeep(v)) ?? 'null';
}

function sortDeep(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v instanceof Map) return sortDeep(Object.fromEntries(v));
  if (v instanceof Set) return [...v].map(sortDeep);
  const maybe = v as { toJSON?: () => unknown };
  if (typeof maybe.toJSON === 'function') return sortDeep(maybe.toJSON());
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && typeof x !== 'function') out[k] = sortDeep(x);
  }
  return out;
}

export function keyHash(k: CacheKey): string {
  return digestString(stableJson(k));
}

const short = (d: string): string => (d.length > 16 ? `${d.slice(0, 12)}…` : d);
const clip = (s: string, n = 80): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** First differing path between two JSON values, e.g. `nodes[2].memory_gb`. */
function firstJsonDiff(a: unknown, b: unknown, path = ''): { path: string; a: unknown; b: unknown } | undefined {
  if (stableJson(a) === stableJson(b)) return undefined;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    for (const k of [...new Set([...ka, ...kb])].sort()) {
      const sub = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      const d = firstJsonDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], sub);
      if (d) return d;
    }
  }
  return { path: path || '(whole value)', a, b };
}

function diffMap(
  what: string,
  a: Record<string, string | null>,
  b: Record<string, string | null>,
  fmt: (v: string | null) => string,
): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    if (!(k in a)) return `${what} ${k} added (${fmt(b[k] ?? null)})`;
    if (!(k in b)) return `${what} ${k} removed`;
    if (a[k] !== b[k]) return `${what} ${k} changed (${fmt(a[k] ?? null)} -> ${fmt(b[k] ?? null)})`;
  }
  return undefined;
}

/**
 * The first component that differs between the recorded key `old` and `now`,
 * in the order of the CacheKey fields, as one sentence; `undefined` if equal.
 */
export function explainKeyChange(old: CacheKey, now: CacheKey): string | undefined {
  if (old.name !== now.name) return `name changed (${old.name} -> ${now.name})`;
  if (old.definition !== now.definition) return `definition changed (code or spec of the target; ${short(old.definition)} -> ${short(now.definition)})`;
  if (old.params !== now.params) {
    let a: unknown, b: unknown;
    try {
      a = JSON.parse(old.params);
      b = JSON.parse(now.params);
    } catch {
      return `params changed`;
    }
    const d = firstJsonDiff(a, b);
    return `params ${d?.path ?? ''} changed (${clip(JSON.stringify(d?.a) ?? 'undefined')} -> ${clip(JSON.stringify(d?.b) ?? 'undefined')})`;
  }
  return (
    diffMap('input', old.inputs, now.inputs, (v) => `sha256 ${short(v ?? '')}`) ??
    diffMap('dependency', old.deps, now.deps, (v) => `output ${short(v ?? '')}`)?.replace(/ changed \(/, ' output changed (') ??
    diffMap('env', old.env, now.env, (v) => (v === null ? 'unset' : JSON.stringify(clip(v, 40)))) ??
    diffMap('tool', old.tools, now.tools, (v) => JSON.stringify(v))
  );
}

function sortedObject(o: Record<string, string | null>): string {
  const keys = Object.keys(o);
  if (keys.length === 0) return '{}';
  if (keys.length > 1) keys.sort();
  let s = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    s += `${i ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(o[k])}`;
  }
  return `${s}}`;
}

/**
 * `stableJson(key)` without the generic deep sort: the no-op path builds one of
 * these per target, so it matters (same output as stableJson for a CacheKey).
 */
export function keyToJson(k: CacheKey): string {
  return `{"definition":${JSON.stringify(k.definition)},"deps":${sortedObject(k.deps)},"env":${sortedObject(k.env)},"inputs":${sortedObject(k.inputs)},"name":${JSON.stringify(k.name)},"params":${JSON.stringify(k.params)},"tools":${sortedObject(k.tools)}}`;
}
