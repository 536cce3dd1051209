/**
 * A target's definition text: its static spec (source of run/probe/
 * outputFiles, deps, inputs, env, tools, pool, always) as key-sorted JSON,
 * and its params. Both are fixed for the life of a process, so each node's
 * are computed once (`Statics`).
 */
import type { Node } from '../graph/graph.js';
import { stableJson } from '../cache/key.js';

/**
 * `stableJson` of a target's static spec, written out directly: with 10,000
 * targets the generic deep sort was a visible part of a no-op build. The text
 * must stay byte-identical to what stableJson gives (keys sorted), or every
 * recorded key changes; tests/unit/engine compares the two.
 */
export function definitionJson(n: Node): string {
  const sp = n.target.spec;
  const j = JSON.stringify;
  const strs = (a: readonly unknown[]): string => (a.every((x) => typeof x === 'string') ? j(a) : stableJson(a));
  const depKeys = [...n.deps.keys()].sort();
  let deps = '{';
  for (let i = 0; i < depKeys.length; i++) deps += `${i ? ',' : ''}${j(depKeys[i])}:${j(n.deps.get(depKeys[i]!)!.name)}`;
  deps += '}';
  const tools = (sp.tools ?? []).map((t) => (typeof t === 'string' ? j(t) : `{"args":${strs(t.args ?? ['--version'])},"name":${j(t.name)}}`));
  return (
    `{"after":${j(n.after.map((a) => a.name))},"always":${j(sp.always ?? false)},"deps":${deps},"env":${strs(sp.env ?? [])},` +
    `"inputs":${strs(sp.inputs ?? [])},"outputFiles":${j(sp.outputFiles?.toString() ?? null)},"pool":${j(sp.pool ?? null)},` +
    `"probe":${j(sp.probe?.toString() ?? null)},"run":${j(sp.run.toString())},"tools":[${tools.join(',')}]}`
  );
}

/** The generic form of `definitionJson` (reference for tests). */
export function definitionJsonSlow(n: Node): string {
  const sp = n.target.spec;
  return stableJson({
    run: sp.run.toString(),
    probe: sp.probe?.toString() ?? null,
    outputFiles: sp.outputFiles?.toString() ?? null,
    deps: Object.fromEntries([...n.deps].map(([k, d]) => [k, d.name])),
    after: n.after.map((a) => a.name),
    inputs: sp.inputs ?? [],
    env: sp.env ?? [],
    tools: (sp.tools ?? []).map((t) => (typeof t === 'string' ? t : { name: t.name, args: t.args ?? ['--version'] })),
    pool: sp.pool ?? null,
    always: sp.always ?? false,
  });
}

/** Per-node values that do not change during a process: definition text (digested on demand) and params. */
export interface Static {
  /** `definitionJson(n)`: the fingerprint carries it as is (no hash per target on a no-op). */
  defJson: string;
  /** Its digest, the key's `definition`; computed when a full key is needed. */
  definition?: string;
  params: string;
}

export class Statics {
  private readonly m = new Map<Node, Static>();

  of(n: Node): Static {
    let s = this.m.get(n);
    if (s) return s;
    s = { defJson: definitionJson(n), params: stableJson(n.target.spec.params ?? null) };
    this.m.set(n, s);
    return s;
  }
}
