/**
 * `pharos graph` output: the edges of the shown targets, transitively reduced
 * unless `full` (an edge a → c goes when a also reaches c through another of
 * its edges: the picture keeps what the order needs, as `tred` would), the
 * aliases as nodes of their own pointing at their members, and each target
 * labelled and coloured by its state (fresh, dirty, never built).
 * Rendered as dot, mermaid or JSON.
 */
import type { Graph, Node } from './graph.js';

export type NodeState = 'fresh' | 'dirty' | 'never-built';

export interface GraphEdge {
  from: string;
  to: string;
  /** Order only (`after`), no data. */
  order: boolean;
}

export interface GraphView {
  targets: Array<{ name: string; description?: string; pool?: string; state?: NodeState; deps: string[]; after: string[] }>;
  aliases: Array<{ name: string; description?: string; members: string[] }>;
  /** Target edges, then alias → member edges; reduced unless `full`. */
  edges: GraphEdge[];
  aliasEdges: Array<{ from: string; to: string }>;
  reduced: boolean;
}

/** For each node, every node it reaches through deps and after (within `shown`). */
function reachability(nodes: readonly Node[], shown: ReadonlySet<Node>): Map<Node, Set<Node>> {
  const reach = new Map<Node, Set<Node>>();
  // `nodes` is in topological order (dependencies first), so a predecessor's set is complete.
  for (const n of nodes) {
    const r = new Set<Node>();
    for (const p of n.preds) {
      if (!shown.has(p)) continue;
      r.add(p);
      for (const q of reach.get(p) ?? []) r.add(q);
    }
    reach.set(n, r);
  }
  return reach;
}

/** Names an alias stands for, aliases in it expanded (cycles cut). */
function aliasTargets(g: Graph, name: string, seen = new Set<string>()): string[] {
  const a = g.aliases.get(name);
  if (!a || seen.has(name)) return g.byName.has(name) ? [name] : [];
  seen.add(name);
  return a.members.flatMap((m) => aliasTargets(g, typeof m === 'string' ? m : m.name, seen));
}

export function graphView(g: Graph, nodes: readonly Node[], o: { full?: boolean; states?: ReadonlyMap<string, NodeState> } = {}): GraphView {
  const sorted = [...nodes].sort((a, b) => a.index - b.index);
  const shown = new Set(sorted);
  const reach = reachability(sorted, shown);
  const redundant = (direct: readonly Node[], p: Node): boolean => direct.some((q) => q !== p && reach.get(q)!.has(p));
  const edges: GraphEdge[] = [];
  for (const n of sorted) {
    const deps = new Set([...n.deps.values()].filter((d) => shown.has(d)));
    const direct = n.preds.filter((p) => shown.has(p));
    for (const p of direct) {
      if (!o.full && redundant(direct, p)) continue;
      edges.push({ from: n.name, to: p.name, order: !deps.has(p) });
    }
  }
  const names = new Set(sorted.map((n) => n.name));
  const aliases = [...g.aliases.values()].filter((a) => {
    const t = aliasTargets(g, a.name);
    return t.length > 0 && t.every((x) => names.has(x));
  });
  const shownAliases = new Set(aliases.map((a) => a.name));
  const aliasEdges: Array<{ from: string; to: string }> = [];
  for (const a of aliases) {
    const members = a.members.map((m) => (typeof m === 'string' ? m : m.name));
    const memberNodes = members.map((m) => g.byName.get(m)).filter((m): m is Node => m !== undefined);
    for (const m of members) {
      const node = g.byName.get(m);
      if (!node && !shownAliases.has(m)) continue;
      if (node && !o.full && redundant(memberNodes, node)) continue;
      aliasEdges.push({ from: a.name, to: m });
    }
  }
  return {
    targets: sorted.map((n) => ({
      name: n.name,
      description: n.target.spec.description,
      pool: n.target.spec.pool,
      state: o.states?.get(n.name),
      deps: [...n.deps.values()].map((d) => d.name),
      after: n.after.map((a) => a.name),
    })),
    aliases: aliases.map((a) => ({ name: a.name, description: a.description, members: a.members.map((m) => (typeof m === 'string' ? m : m.name)) })),
    edges,
    aliasEdges,
    reduced: !o.full,
  };
}

/** Fill colours by state (the same in dot and mermaid). */
export const STATE_COLOURS: Record<NodeState, string> = { fresh: '#b7e1b0', dirty: '#ffd966', 'never-built': '#e0e0e0' };
const STATE_LABEL: Record<NodeState, string> = { fresh: 'fresh', dirty: 'dirty', 'never-built': 'never built' };

export function toDot(v: GraphView): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['digraph pharos {', '  rankdir=LR;', '  node [shape=box, style="rounded,filled", fillcolor="#ffffff"];'];
  if (v.targets.some((t) => t.state)) lines.push(`  // fill: fresh ${STATE_COLOURS.fresh}, dirty ${STATE_COLOURS.dirty}, never built ${STATE_COLOURS['never-built']}`);
  for (const t of v.targets) {
    lines.push(t.state ? `  ${q(t.name)} [label=${q(`${t.name}\n${STATE_LABEL[t.state]}`)}, fillcolor=${q(STATE_COLOURS[t.state])}];` : `  ${q(t.name)};`);
  }
  for (const a of v.aliases) lines.push(`  ${q(a.name)} [label=${q(`${a.name}\nalias`)}, shape=ellipse, style=dashed];`);
  for (const e of v.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.order ? ' [style=dashed]' : ''};`);
  for (const e of v.aliasEdges) lines.push(`  ${q(e.from)} -> ${q(e.to)} [style=dotted, arrowhead=open];`);
  lines.push('}');
  return lines.join('\n');
}

export function toMermaid(v: GraphView): string {
  const id = new Map<string, string>();
  v.targets.forEach((t, i) => id.set(t.name, `t${i}`));
  v.aliases.forEach((a, i) => id.set(a.name, `a${i}`));
  const text = (s: string): string => s.replace(/"/g, '#quot;');
  const lines = ['graph LR'];
  for (const t of v.targets) lines.push(`  ${id.get(t.name)}["${text(t.name)}${t.state ? `<br/>${STATE_LABEL[t.state]}` : ''}"]`);
  for (const a of v.aliases) lines.push(`  ${id.get(a.name)}(["${text(a.name)}<br/>alias"])`);
  for (const e of v.edges) lines.push(`  ${id.get(e.from)} ${e.order ? '-.->' : '-->'} ${id.get(e.to)}`);
  for (const e of v.aliasEdges) lines.push(`  ${id.get(e.from)} -.-o ${id.get(e.to)}`);
  const states = [...new Set(v.targets.map((t) => t.state).filter((s): s is NodeState => s !== undefined))];
  for (const s of states) {
    const cls = s === 'never-built' ? 'neverBuilt' : s;
    lines.push(`  classDef ${cls} fill:${STATE_COLOURS[s]}`);
    lines.push(`  class ${v.targets.filter((t) => t.state === s).map((t) => id.get(t.name)).join(',')} ${cls}`);
  }
  if (v.aliases.length) lines.push('  classDef alias stroke-dasharray:4', `  class ${v.aliases.map((a) => id.get(a.name)).join(',')} alias`);
  return lines.join('\n');
}
