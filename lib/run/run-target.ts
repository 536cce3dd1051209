/**
 * One target's run: its log, its `RunContext` (`ctx.exec` children logged
 * and killed on abort), the digest of its output and declared output files,
 * and its record. The record is written only when the run succeeded, its
 * output files exist (files, not directories), its log was written, and the
 * build was not interrupted meanwhile; the record's stamp fingerprint is left
 * out when an input or output stamp was racy.
 */
import { PharosError } from '../errors.js';
import { exec, type ExecOptions } from '../tools/exec.js';
import { shellQuote } from '../util/shell.js';
import type { Node } from '../graph/graph.js';
import type { RunContext } from '../graph/target.js';
import { MISSING, digestStat, digestString, statStamp } from '../cache/hash.js';
import { stableJson } from '../cache/key.js';
import { RacyCheck } from '../cache/racy.js';
import type { StateStore } from '../cache/state.js';
import { fingerprint, type Keyed } from './keys.js';
import { TargetLog } from './targetlog.js';
import type { EngineContext } from './context.js';

/** A stale target to run, as its check left it. */
export interface TargetJob {
  n: Node;
  key: Keyed;
  /** Why it runs (the log's first line). */
  reason: string;
  /** The inputs' half of the fingerprint text. */
  fastText: string;
  racy: RacyCheck;
  /** When its check began (durations count from there). */
  tStart: number;
  /** Output of each dependency, by dependency key: `ctx.deps`. */
  deps: Record<string, unknown>;
}

/** The build a target runs in: where its outcome goes. */
export interface TargetHost {
  readonly c: EngineContext;
  readonly st: StateStore;
  readonly signal: AbortSignal;
  /** It ran and its record is written. */
  recorded(n: Node, durationMs: number, reason: string, logPath: string, outputDigest: string, output: unknown): void;
  /** It failed while running; `log` still writes to its log (closed after this returns). */
  runFailed(n: Node, tStart: number, e: unknown, tail: string[], log: (line: string) => void, logPath: string): void;
}

export async function runTarget(h: TargetHost, job: TargetJob): Promise<void> {
  const { c, st, signal } = h;
  const { n, key, reason, tStart } = job;
  const sp = n.target.spec;
  const lp = c.logPath(n.name);
  const tlog = new TargetLog(lp);
  const log = (line: string): void => {
    tlog.write(line);
    c.emit({ type: 'target-output', name: n.name, line });
  };
  const ctx: RunContext<Record<string, unknown>> = {
    name: n.name,
    deps: job.deps,
    root: c.root,
    stateDir: c.stateDir,
    cacheDir: c.cacheDir,
    key: key.hash,
    signal,
    previous: st.records.get(n.name)?.output,
    log,
    phase: (text) => c.emit({ type: 'target-phase', name: n.name, text }),
    exec: (cmd: string, args: string[], o: ExecOptions = {}) => {
      log(`$ ${shellQuote([cmd, ...args])}`);
      return exec(cmd, args, {
        cwd: c.root,
        killGraceMs: c.opts.killGraceMs ?? 3000,
        ...o,
        signal: o.signal ?? signal,
        onLine: (line, stream) => {
          log(line);
          o.onLine?.(line, stream);
        },
      });
    },
  };
  log(`# ${n.name}: ${reason}`);
  try {
    const out = await sp.run(ctx as never);
    if (signal.aborted) throw new PharosError('interrupted', { exitCode: 130 });
    // The JSON round trip makes a fresh output identical to one read back from the record.
    const json = out === undefined ? 'null' : stableJson(out);
    const value: unknown = JSON.parse(json);
    const files: Record<string, string> = {};
    let outText = '';
    const outRacy = new RacyCheck();
    for (const p of sp.outputFiles?.(value as never) ?? []) {
      if (Object.hasOwn(files, p)) continue;
      const fst = statStamp(p);
      if (fst?.isDir) {
        throw new PharosError(`${n.name} declared output ${p}, which is a directory; outputs must be files`, {
          hint: 'list the files inside it in outputFiles (or pack the directory into one file)',
        });
      }
      let d = digestStat(st.stamps, p, fst);
      if (typeof d !== 'string') d = await d;
      if (d === MISSING) throw new PharosError(`${n.name} declared output ${p} but did not produce it`);
      files[p] = d;
      outText += `${p}\0${outRacy.see(fst!.stamp)}\n`;
    }
    const outputDigest = digestString(`${json}\0${stableJson(files)}`);
    const durationMs = performance.now() - tStart;
    if (signal.aborted) throw new PharosError('interrupted', { exitCode: 130 });
    tlog.close();
    if (tlog.error) throw tlog.error;
    st.putRecord(n.name, key.json, {
      keyHash: key.hash,
      output: value,
      outputDigest,
      outputFiles: files,
      durationMs,
      builtAt: new Date().toISOString(),
      fast: job.racy.racy || outRacy.racy ? undefined : fingerprint(job.fastText, outText),
    });
    h.recorded(n, durationMs, reason, lp, outputDigest, value);
  } catch (e) {
    h.runFailed(n, tStart, tlog.error ?? e, tlog.tail, log, lp);
    tlog.close();
  }
}
