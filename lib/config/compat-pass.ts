/**
 * The bookkeeping of the ai-how compatibility pass (compat.ts): where a node
 * is in the file, one warning per rewrite, ignored keys grouped per section,
 * and the YAML Document edits that keep comments, order and positions.
 */
import { isMap, isScalar, Pair, Scalar, type Document, type LineCounter, type YAMLMap } from 'yaml';
import type { ErrorDetail } from '../errors.js';
import { fieldPath, type Path } from './rules.js';
import type * as K from './compat-keys.js';

export type CompatRule = 'rename' | 'flatten' | 'default' | 'remove-cluster' | 'emulated-gpus' | 'readonly' | 'accounting' | 'ignored';

/** One rewrite (or one group of ignored keys): a warning, or under --strict an error. */
export interface CompatRewrite extends ErrorDetail {
  rule: CompatRule;
}

type AnyNode = { range?: [number, number, number] | null };

export class Pass {
  readonly rewrites: CompatRewrite[] = [];
  /** Ignored keys grouped by section (array indices folded) and reason. */
  private readonly ignored = new Map<string, { path: Path; paths: Set<string>; line?: number; column?: number; reasons: Map<string, Map<string, number[]>> }>();

  constructor(
    readonly doc: Document,
    readonly file: string,
    private readonly lc: LineCounter | undefined,
  ) {}

  pos(node: unknown): { line?: number; column?: number } {
    const off = (node as AnyNode | undefined)?.range?.[0];
    if (off === undefined || !this.lc) return {};
    const p = this.lc.linePos(off);
    return { line: p.line, column: p.col };
  }

  add(rule: CompatRule, path: Path, node: unknown, message: string): void {
    this.rewrites.push({ rule, file: this.file, ...this.pos(node), field: fieldPath(path), message });
  }

  /** Drops `key` from `map` and remembers it for its section's warning. */
  ignore(map: YAMLMap, path: Path, key: string, reason: string): void {
    const pair = find(map, key);
    if (!pair) return;
    const section = folded(path);
    let g = this.ignored.get(section);
    const at = this.pos(pair.key);
    if (!g) {
      g = { path, paths: new Set(), ...at, reasons: new Map() };
      this.ignored.set(section, g);
    }
    g.paths.add(fieldPath(path));
    const byKey = g.reasons.get(reason) ?? new Map<string, number[]>();
    const lines = byKey.get(key) ?? [];
    if (at.line !== undefined) lines.push(at.line);
    byKey.set(key, lines);
    g.reasons.set(reason, byKey);
    map.delete(key);
  }

  /** Drops every key of `table` present in `map`. */
  ignoreKnown(map: YAMLMap, path: Path, table: K.KeyTable): void {
    for (const key of keys(map)) {
      const reason = table[key];
      if (reason !== undefined) this.ignore(map, path, key, reason);
    }
  }

  /** One warning per section: every key dropped there, with its reason. */
  flushIgnored(): void {
    for (const [section, g] of this.ignored) {
      const many = g.paths.size > 1;
      const total = [...g.reasons.values()].reduce((n, m) => n + m.size, 0);
      const lines = many || total > 1;
      const parts = [...g.reasons.entries()].map(([reason, byKey]) => {
        const names = [...byKey.entries()].map(([k, l]) => (lines && l.length ? `\`${k}\` (line${l.length > 1 ? 's' : ''} ${l.join(', ')})` : `\`${k}\``));
        return `${names.join(', ')}: ${byKey.size > 1 ? reason.replace(/\bread it\b/, 'read them') : reason}`;
      });
      this.rewrites.push({
        rule: 'ignored',
        file: this.file,
        line: g.line,
        column: g.column,
        field: (many ? section : fieldPath(g.path)) || '(top level)',
        message: `ignored ${parts.join('; ')}`,
      });
    }
    this.ignored.clear();
  }
}

/** A path with its list indices folded: `clusters.hpc.compute_nodes[]`. */
export function folded(path: Path): string {
  return fieldPath(path.map((s) => (typeof s === 'number' ? '*' : s))).replace(/\.\*/g, '[]');
}

export function find(map: YAMLMap, key: string): Pair<unknown, unknown> | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair<unknown, unknown> | undefined;
}

export function keys(map: YAMLMap): string[] {
  return map.items.filter((p) => isScalar(p.key)).map((p) => String((p.key as Scalar).value));
}

export function mapAt(map: YAMLMap, key: string): YAMLMap | undefined {
  const v = find(map, key)?.value;
  return isMap(v) ? v : undefined;
}

export function scalarValue(map: YAMLMap | undefined, key: string): unknown {
  const v = map ? find(map, key)?.value : undefined;
  return isScalar(v) ? v.value : undefined;
}

/** Renames `from` to `to` in place (comments and position stay). */
export function renameKey(pass: Pass, map: YAMLMap, path: Path, from: string, to: string, why: string): void {
  const pair = find(map, from);
  if (!pair) return;
  if (find(map, to)) {
    pass.ignore(map, path, from, `\`${to}\` is also given`);
    return;
  }
  pass.add('rename', [...path, from], pair.key, `\`${from}\` → \`${to}\`: ${why}`);
  (pair.key as Scalar).value = to;
}

/** Inserts `key: value` before the pair named `before` (or at the end). */
export function insert(map: YAMLMap, key: string, value: unknown, before?: string): void {
  const pair = new Pair(new Scalar(key), value);
  const i = before ? map.items.findIndex((p) => isScalar(p.key) && String(p.key.value) === before) : -1;
  if (i < 0) {
    map.items.push(pair);
    return;
  }
  // A comment above the first key stays above the file's own content.
  const next = map.items[i]!.key as Scalar | undefined;
  if (i === 0 && next?.commentBefore) {
    (pair.key as Scalar).commentBefore = next.commentBefore;
    next.commentBefore = undefined;
  }
  map.items.splice(i, 0, pair);
}
