/**
 * YAML anchors and aliases, checked before the document is turned into data.
 * An alias that names no earlier anchor, an alias inside the node it names
 * (a cycle), and a document whose aliases expand it past a sane size (the
 * "billion laughs" pattern: each level aliases the previous one nine times)
 * are each one located problem, so `toJS()` never runs into them.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type LineCounter } from 'yaml';
import type { ErrorDetail } from '../errors.js';

/** Nodes the whole document may expand to. A large real config has a few
 *  thousand; this leaves room for heavy legitimate use of anchors. */
export const MAX_EXPANDED_NODES = 100_000;

export function checkAliases(doc: Document, file: string, lc: LineCounter): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const at = (node: { range?: [number, number, number] | null }): { line?: number; column?: number } => {
    const off = node.range?.[0];
    if (off === undefined) return {};
    const p = lc.linePos(off);
    return { line: p.line, column: p.col };
  };
  const target = new Map<Alias, unknown>();
  const aliases: Alias[] = [];
  const anchors = new Map<string, unknown>();
  const open = new Set<unknown>();
  // Pre-order, as the yaml library resolves: an alias names the last anchor of
  // that name met before it.
  const walk = (node: unknown): void => {
    if (isAlias(node)) {
      aliases.push(node);
      const t = anchors.get(node.source);
      if (t === undefined) {
        errors.push({
          file,
          ...at(node),
          message: `YAML alias \`*${node.source}\` refers to no anchor`,
          expected: `an anchor \`&${node.source}\` earlier in the file`,
          hint: 'define the anchor before the alias, or write the value out',
        });
      } else if (open.has(t)) {
        errors.push({ file, ...at(node), message: `YAML alias \`*${node.source}\` is inside the node it refers to (a cycle)`, hint: 'an alias may only repeat a node that is complete' });
      } else target.set(node, t);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node);
    if (isMap(node)) {
      open.add(node);
      for (const it of node.items) {
        if (!isPair(it)) continue;
        walk(it.key);
        walk(it.value);
      }
      open.delete(node);
    } else if (isSeq(node)) {
      open.add(node);
      for (const it of node.items) walk(it);
      open.delete(node);
    }
  };
  walk(doc.contents);
  if (errors.length) return errors;

  // Expanded size of each node, every alias counted as a full copy of its target.
  const sizes = new Map<unknown, number>();
  const size = (node: unknown): number => {
    if (isAlias(node)) return size(target.get(node));
    if (!node || typeof node !== 'object' || isScalar(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let n = 1;
    if (isMap(node)) for (const it of node.items) n += isPair(it) ? size(it.key) + size(it.value) : 1;
    else if (isSeq(node)) for (const it of node.items) n += size(it);
    n = Math.min(n, Number.MAX_SAFE_INTEGER);
    sizes.set(node, n);
    return n;
  };
  const total = size(doc.contents);
  if (total > MAX_EXPANDED_NODES) {
    const worst = aliases.reduce((a, b) => (size(b) > size(a) ? b : a));
    errors.push({
      file,
      ...at(worst),
      message: `YAML aliases expand the file to ${total >= Number.MAX_SAFE_INTEGER ? 'more than 2^53' : total} nodes (\`*${worst.source}\` alone to ${size(worst)}); the limit is ${MAX_EXPANDED_NODES}`,
      expected: 'aliases that repeat a value a few times, not aliases of aliases nested level upon level',
      hint: 'this is the "billion laughs" pattern; write the values out, or nest fewer levels of aliases',
    });
  }
  return errors;
}
