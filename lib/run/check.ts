/**
 * Is this target up to date (Ninja's DependencyScan)? Yes when its recorded
 * stamp fingerprint equals the one computed from fresh stats, or else when
 * its full key equals the recorded one and its recorded output files are
 * unchanged; and then, if it has a probe, when the probe says so. `always`
 * targets never are. A stale answer carries the key to record, the reason
 * (the `why` sentence) and the fingerprint text to record after the run.
 */
import type { Node } from '../graph/graph.js';
import type { ProbeContext } from '../graph/target.js';
import { DIRECTORY, MISSING, digestFile } from '../cache/hash.js';
import { explainKeyChange } from '../cache/key.js';
import type { TargetRecord } from '../cache/state.js';
import type { RacyCheck } from '../cache/racy.js';
import { fingerprint, gather, keyed, outputStamps, type DepDigests, type Keyed } from './keys.js';
import type { EngineContext } from './context.js';

export type Check =
  | { fresh: true; rec: TargetRecord }
  | {
      fresh: false;
      key: Keyed;
      reason: string;
      /** The inputs' half of the fingerprint text (the record's `fast` once outputs are known). */
      fast: string;
      racy: RacyCheck;
    };

/** A probe context whose `once` memo lives as long as it does (one build, one `why`). */
export function makeProbeCtx(root: string, signal: AbortSignal): ProbeContext {
  const memo = new Map<string, Promise<unknown>>();
  return {
    root,
    signal,
    once<T>(k: string, fn: () => Promise<T>): Promise<T> {
      let p = memo.get(k) as Promise<T> | undefined;
      if (!p) {
        p = fn();
        memo.set(k, p);
      }
      return p;
    },
  };
}

export async function check(c: EngineContext, n: Node, depDigests: DepDigests, probeCtx: ProbeContext): Promise<Check> {
  const g = await gather(c, n, depDigests);
  const sp = n.target.spec;
  const store = c.store();
  const rec = store.records.get(n.name);
  const outText = rec ? outputStamps(Object.keys(rec.outputFiles), g.racy) : '';
  const fast = fingerprint(g.text, outText);
  const slow = async (): Promise<Check> => {
    const key = await keyed(c, n, depDigests, g);
    const stale = (reason: string): Check => ({ fresh: false, key, reason, fast: g.text, racy: g.racy });
    if (!rec) return stale('never built');
    if (rec.keyHash !== key.hash) {
      const old = store.keyOf(n.name);
      return stale((old && explainKeyChange(old, key.key)) ?? 'key changed (the recorded key is unavailable)');
    }
    if (sp.always) return stale('always runs');
    const db = store.stamps;
    for (const [p, d] of Object.entries(rec.outputFiles)) {
      let now = digestFile(db, p);
      if (typeof now !== 'string') now = await now;
      if (now === MISSING) return stale(`output ${p} is missing`);
      if (now === DIRECTORY) return stale(`output ${p} is a directory`);
      if (now !== d) return stale(`output ${p} changed since it was built`);
    }
    // Same key and outputs, new stamps (a touch, a copy): remember them so the next check is stat-only
    // (unless a stamp is racy: then the next check hashes again).
    const trusted = g.racy.racy ? undefined : fast;
    if (rec.fast !== trusted) {
      rec.fast = trusted;
      store.markDirty();
    }
    return { fresh: true, rec };
  };
  const r = rec && rec.fast === fast ? (sp.always ? await slow() : ({ fresh: true, rec } as Check)) : await slow();
  if (!r.fresh) return r;
  if (sp.probe) {
    const p = await sp.probe(r.rec.output, probeCtx);
    // The fingerprint matched, so the key was not built: build it now (the target runs).
    if (p !== true) return { fresh: false, key: await keyed(c, n, depDigests, g), reason: `probe: ${p}`, fast: g.text, racy: g.racy };
  }
  return r;
}
