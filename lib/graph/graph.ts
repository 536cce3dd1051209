/**
 * A checked graph: every name unique, every dependency known, no cycles, every
 * pool declared. All checks run before anything is built; failures are one
 * PharosError listing every problem found.
 */
import { PharosError, type ErrorDetail } from '../errors.js';
import { isGlob, nameGlob } from './glob.js';
import { isAlias, isTarget, type Alias, type GraphDefinition, type Target } from './target.js';
import { editDistance } from '../util/edit-distance.js';

export interface Node {
  readonly target: Target<unknown>;
  readonly name: string;
  /** Index in `Graph.nodes` (topological order: dependencies first). */
  index: number;
  /** `deps` key -> node. */
  readonly deps: Map<string, Node>;
  /** Order-only predecessors. */
  readonly after: Node[];
  /** Nodes this one waits for: deps and after, deduplicated. */
  readonly preds: Node[];
  /** Nodes waiting for this one. */
  readonly succs: Node[];
}

export interface Graph {
  /** Topologically sorted: every node after all of its predecessors. */
  readonly nodes: Node[];
  readonly byName: Map<string, Node>;
  readonly aliases: Map<string, Alias>;
  readonly pools: Map<string, number>;
}

export function buildGraph(def: GraphDefinition): Graph {
  const problems: ErrorDetail[] = [];
  const byName = new Map<string, Node>();
  const targets = def.targets ?? [];
  for (const t of targets) {
    if (!isTarget(t)) {
      problems.push({ message: `not a target: ${JSON.stringify(t)?.slice(0, 80)}`, hint: 'make targets with target({...})' });
      continue;
    }
    const prev = byName.get(t.name);
    if (prev) {
      if (prev.target !== t) problems.push({ message: `duplicate target name "${t.name}"` });
      continue;
    }
    byName.set(t.name, { target: t, name: t.name, index: -1, deps: new Map(), after: [], preds: [], succs: [] });
  }
  const pools = new Map<string, number>();
  for (const [p, cap] of Object.entries(def.pools ?? {})) {
    if (!Number.isInteger(cap) || cap < 1) problems.push({ message: `pool "${p}" has capacity ${cap}`, expected: 'an integer >= 1' });
    pools.set(p, cap);
  }
  const aliases = new Map<string, Alias>();
  for (const a of def.aliases ?? []) {
    if (!isAlias(a)) {
      problems.push({ message: 'aliases must be made with alias(name, members)' });
      continue;
    }
    if (byName.has(a.name) || aliases.has(a.name)) problems.push({ message: `alias "${a.name}" clashes with another target or alias` });
    aliases.set(a.name, a);
  }
  const resolve = (ref: Target<unknown>, from: string, how: string): Node | undefined => {
    const n = isTarget(ref) ? byName.get(ref.name) : undefined;
    if (!n || n.target !== ref) {
      const name = isTarget(ref) ? ref.name : String(ref);
      problems.push({
        message: `target "${from}" ${how} "${name}", which is not in the graph`,
        hint: 'add it to the targets list of pharos.build.ts',
      });
      return undefined;
    }
    return n;
  };
  for (const n of byName.values()) {
    const s = n.target.spec;
    const preds = new Set<Node>();
    for (const [k, d] of Object.entries(s.deps ?? {})) {
      const dn = resolve(d, n.name, `depends on (deps.${k})`);
      if (dn) {
        n.deps.set(k, dn);
        preds.add(dn);
      }
    }
    for (const d of s.after ?? []) {
      const dn = resolve(d, n.name, 'runs after');
      if (dn) {
        n.after.push(dn);
        preds.add(dn);
      }
    }
    for (const p of preds) {
      n.preds.push(p);
      p.succs.push(n);
    }
    if (s.pool !== undefined && !pools.has(s.pool)) {
      problems.push({ message: `target "${n.name}" uses pool "${s.pool}", which is not declared`, hint: 'declare it in pools: { name: capacity }' });
    }
  }
  for (const a of aliases.values()) {
    for (const m of a.members) {
      const name = typeof m === 'string' ? m : m.name;
      if (!byName.has(name) && !aliases.has(name)) problems.push({ message: `alias "${a.name}" names unknown target "${name}"`, hint: suggest(name, [...byName.keys(), ...aliases.keys()]) });
    }
  }
  if (problems.length) throw new PharosError(`the build graph is invalid (${problems.length} problem${problems.length > 1 ? 's' : ''})`, { problems });

  // Topological order by iterative DFS; a back edge is a cycle, reported as a path.
  const nodes: Node[] = [];
  const state = new Map<Node, 1 | 2>();
  for (const root of byName.values()) {
    if (state.has(root)) continue;
    const stack: { n: Node; i: number }[] = [{ n: root, i: 0 }];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.i < top.n.preds.length) {
        const p = top.n.preds[top.i++]!;
        const st = state.get(p);
        if (st === 1) {
          const names = stack.map((f) => f.n.name);
          const from = names.indexOf(p.name);
          // Edges point from a target to what it needs, so the path reads "a needs b needs … a".
          const cycle = [...names.slice(from), p.name];
          throw new PharosError(`dependency cycle: ${cycle.join(' -> ')}`, {
            hint: 'a target cannot (indirectly) depend on itself; break one of these edges',
          });
        }
        if (st === undefined) {
          state.set(p, 1);
          stack.push({ n: p, i: 0 });
        }
      } else {
        state.set(top.n, 2);
        top.n.index = nodes.length;
        nodes.push(top.n);
        stack.pop();
      }
    }
  }
  return { nodes, byName, aliases, pools };
}

export { nameGlob } from './glob.js';

/** Resolves selectors (names, aliases, globs) to nodes; unknown ones fail with close names. */
export function select(g: Graph, selectors: readonly string[]): Node[] {
  const out = new Set<Node>();
  const problems: ErrorDetail[] = [];
  const seenAlias = new Set<string>();
  const add = (sel: string): void => {
    const n = g.byName.get(sel);
    if (n) {
      out.add(n);
      return;
    }
    const a = g.aliases.get(sel);
    if (a) {
      if (seenAlias.has(a.name)) return;
      seenAlias.add(a.name);
      for (const m of a.members) add(typeof m === 'string' ? m : m.name);
      return;
    }
    if (isGlob(sel)) {
      const re = nameGlob(sel);
      let hit = false;
      for (const node of g.nodes) if (re.test(node.name)) (out.add(node), (hit = true));
      for (const al of g.aliases.keys()) if (re.test(al)) (add(al), (hit = true));
      if (!hit) problems.push({ message: `no target matches "${sel}"` });
      return;
    }
    problems.push({ message: `unknown target "${sel}"`, hint: suggest(sel, [...g.byName.keys(), ...g.aliases.keys()]) });
  };
  for (const s of selectors) add(s);
  if (problems.length) {
    const first = problems[0]!;
    throw new PharosError(problems.length === 1 ? first.message : `${problems.length} selectors match nothing`, {
      problems: problems.length === 1 ? [] : problems,
      hint: problems.length === 1 ? (first.hint ?? 'run `pharos list` to see every target') : 'run `pharos list` to see every target',
    });
  }
  return [...out].sort((a, b) => a.index - b.index);
}

/** The selected nodes and everything they need, in topological order. */
export function closure(roots: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const p of n.preds) stack.push(p);
  }
  return [...seen].sort((a, b) => a.index - b.index);
}

export { editDistance };

/** "did you mean: a, b, c?" with the closest names, or a pointer to `pharos list`. */
export function suggest(name: string, candidates: readonly string[]): string {
  const scored = candidates
    .map((c) => ({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) - (c.includes(name) || name.includes(c) ? 2 : 0) }))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  const limit = Math.max(2, Math.floor(name.length / 2));
  const close = scored.filter((s) => s.d <= limit).slice(0, 5).map((s) => s.c);
  return close.length ? `did you mean: ${close.join(', ')}?` : 'run `pharos list` to see every target';
}
