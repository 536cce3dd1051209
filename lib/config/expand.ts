/**
 * `${VAR}`, `${VAR:-default}` and `$$` expansion, done on the parsed YAML
 * document (scalar values only, never keys) so every error keeps the line and
 * column of the scalar it came from. Only the braced forms expand: a lone `$`
 * stays literal, so passwords or regexes with a dollar are not mangled.
 */
import { isMap, isPair, isScalar, isSeq, parse as parseYaml, Scalar, type Document, type LineCounter, type Node } from 'yaml';
import type { ErrorDetail } from '../errors.js';

const VAR_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?/g;

export interface ExpandResult {
  value: string;
  /** Names of variables that were unset (and had no default). */
  unset: string[];
  /** `${…}` forms that are not a valid variable reference. */
  malformed: string[];
}

/** Expands one string with the given variables. */
export function expandString(s: string, vars: Record<string, string | undefined>): ExpandResult {
  const unset: string[] = [];
  const malformed: string[] = [];
  const value = s.replace(VAR_RE, (m: string, name: string | undefined, def: string | undefined, bad: string | undefined) => {
    if (m === '$$') return '$';
    if (name !== undefined) {
      const v = vars[name];
      // Shell `:-`: the default also applies when the variable is set but empty.
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      if (v === '') return '';
      unset.push(name);
      return m;
    }
    malformed.push(bad !== undefined ? m : m);
    return m;
  });
  return { value, unset, malformed };
}

function posOf(lc: LineCounter, offset: number): { line: number; column: number } {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/**
 * Expands every scalar string in `doc` in place. A plain (unquoted) scalar that
 * contained a variable is re-read as YAML after expansion, as the shell-style
 * tools users know would: `cpu_cores: ${CPUS:-2}` becomes the integer 2.
 */
export function expandDocument(
  doc: Document,
  vars: Record<string, string | undefined>,
  file: string,
  lc: LineCounter,
  source: string,
): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const visit = (node: unknown, path: string): void => {
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const key = isScalar(item.key) ? String(item.key.value) : '?';
        visit(item.value, path ? `${path}.${key}` : key);
      }
    } else if (isSeq(node)) {
      node.items.forEach((it, i) => visit(it, `${path}[${i}]`));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      const r = expandString(node.value, vars);
      const start = node.range?.[0] ?? 0;
      const raw = source.slice(start, node.range?.[1] ?? start);
      for (const name of r.unset) {
        const at = raw.indexOf('${' + name);
        errors.push({
          file,
          ...posOf(lc, start + Math.max(0, at)),
          field: path,
          message: `variable \`${name}\` is not set`,
          expected: `\`${name}\` in the environment`,
          hint: `export ${name}=… before running pharos, or write \`\${${name}:-default}\` to give it a default`,
        });
      }
      for (const m of r.malformed) {
        const at = raw.indexOf(m);
        errors.push({
          file,
          ...posOf(lc, start + Math.max(0, at)),
          field: path,
          message: `\`${m}\` is not a valid variable reference`,
          expected: '`${NAME}`, `${NAME:-default}` or `$$` for a literal `$`',
        });
      }
      if (r.unset.length || r.malformed.length || r.value === node.value) {
        if (r.value !== node.value) node.value = r.value;
        return;
      }
      if (node.type === Scalar.PLAIN) {
        let reparsed: unknown = r.value;
        try {
          reparsed = parseYaml(r.value);
        } catch {
          reparsed = r.value;
        }
        node.value = typeof reparsed === 'number' || typeof reparsed === 'boolean' ? reparsed : r.value;
      } else node.value = r.value;
    }
  };
  visit(doc.contents as Node | null, '');
  return errors;
}
