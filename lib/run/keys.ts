/**
 * A target's key now, in two steps. `gather` stats every input and writes
 * the stamp fingerprint text: definition, params, dependency output digests,
 * env, tools, and each input as (path, stamp). Equal fingerprint = equal key
 * (a file whose stamp did not change keeps its recorded digest: the stat fast
 * path), decided without the stamp table or any hashing of keys. `keyed`
 * builds the full key from it: input contents from the stamp table, hashing
 * what changed.
 */
import type { Node } from '../graph/graph.js';
import { toolName } from '../graph/target.js';
import { MISSING, digestStat, digestString, stampOnly, statStamp } from '../cache/hash.js';
import { keyToJson, type CacheKey } from '../cache/key.js';
import { RacyCheck } from '../cache/racy.js';
import { toolVersion } from './tool-versions.js';
import type { EngineContext } from './context.js';

/** Output digest of each dependency, by name: the key's `deps`. */
export type DepDigests = Record<string, string>;

/** The stat-only half of a check: input files and the text of the stamp fingerprint. */
export interface Gathered {
  /** Input files: absolute path and name relative to the root (parallel arrays: no object per file). */
  abs: string[];
  rel: string[];
  /** Everything the key is made of except input contents, which are (path, stamp) here. */
  text: string;
  envv: Record<string, string | null>;
  tools: Record<string, string>;
  /** Whether some stamp was racy (then the fingerprint is not recorded: the next check hashes). */
  racy: RacyCheck;
}

/** A key with its stable JSON and digest, computed once per check. */
export interface Keyed {
  key: CacheKey;
  json: string;
  hash: string;
}

/** (path, stamp) of output files, the output half of the fingerprint. */
export function outputStamps(paths: Iterable<string>, rc: RacyCheck): string {
  let t = '';
  for (const p of paths) t += `${p}\0${rc.see(stampOnly(p)) ?? MISSING}\n`;
  return t;
}

/** The stamp fingerprint recorded with a target: digest of its input and output halves. */
export function fingerprint(inputsText: string, outputsText: string): string {
  return digestString(`${inputsText}\u0002\n${outputsText}`);
}

/** Expands inputs, stats every file and writes the fingerprint text (see the file comment). */
export async function gather(c: EngineContext, n: Node, depDigests: DepDigests): Promise<Gathered> {
  const sp = n.target.spec;
  const s = c.statics.of(n);
  const rc = new RacyCheck();
  let text = `${s.defJson}\n${s.params}\n`;
  for (const d in depDigests) text += `${d}\0${depDigests[d]}\n`;
  const files = await c.inputs.collect(sp.inputs ?? [], rc);
  text += files.text;
  const envv: Record<string, string | null> = {};
  for (const e of sp.env ?? []) {
    const v = c.env[e] ?? null;
    envv[e] = v;
    text += `$${e}\0${v === null ? '\u0001' : v}\n`;
  }
  const tools: Record<string, string> = {};
  for (const t of sp.tools ?? []) {
    const v = await toolVersion(t, n.name, c.env, c.store);
    tools[toolName(t)] = v;
    text += `!${toolName(t)}\0${v}\n`;
  }
  return { abs: files.abs, rel: files.rel, text, envv, tools, racy: rc };
}

/** The full key of what `gather` found, with its JSON and digest. */
export async function keyed(c: EngineContext, n: Node, depDigests: DepDigests, g: Gathered): Promise<Keyed> {
  const s = c.statics.of(n);
  const db = c.store().stamps;
  const inputs: Record<string, string> = {};
  // Stat again: the digest must describe the file as read now (a newer stamp than the
  // fingerprint's only sends the next check down this path again).
  for (let i = 0; i < g.abs.length; i++) {
    let d = digestStat(db, g.abs[i]!, statStamp(g.abs[i]!));
    if (typeof d !== 'string') d = await d;
    inputs[g.rel[i]!] = d;
  }
  s.definition ??= digestString(s.defJson);
  const key: CacheKey = { name: n.name, definition: s.definition, params: s.params, inputs, deps: depDigests, env: g.envv, tools: g.tools };
  const json = keyToJson(key);
  return { key, json, hash: digestString(json) };
}
