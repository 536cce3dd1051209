/** Minimal XML text helpers: the XML we emit is built from strings we escape (`esc`, lib/util/xml.ts). */
export { xmlEscape as esc } from '../util/xml.js';

/** Stable JSON (sorted keys) so hashes do not depend on property order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
