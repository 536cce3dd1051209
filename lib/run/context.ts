/**
 * What the parts of one engine share: its options and paths, the checked
 * graph, the event sink, the state store (read on first use, re-read under
 * each build's lock) and the per-process caches of inputs and definitions.
 */
import { join, resolve } from 'node:path';
import { buildGraph, type Graph } from '../graph/graph.js';
import type { GraphDefinition } from '../graph/target.js';
import { defaultCacheDir } from '../cache/dir.js';
import { StateStore } from '../cache/state.js';
import { Inputs } from './inputs.js';
import { Statics } from './definition.js';
import type { BuildEvent, Reporter } from './events.js';

export interface EngineOptions {
  /** Project root: inputs are relative to it. */
  root: string;
  definition: GraphDefinition;
  /** Default `<root>/.pharos`. */
  stateDir?: string;
  /** Default `$PHAROS_CACHE` or `~/.cache/pharos`. */
  cacheDir?: string;
  /** Max targets running at once (default: number of CPUs). */
  jobs?: number;
  /** Keep starting independent targets after a failure. */
  keepGoing?: boolean;
  /** Report what would run and why; run nothing, record nothing. */
  dryRun?: boolean;
  reporter?: Reporter | Reporter[];
  /** Abort = Ctrl-C: running targets see it, nothing more starts, nothing is recorded after it. */
  signal?: AbortSignal;
  /** Environment used for `env` keys (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Take `.pharos/lock` for builds (default true). */
  lock?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL for `ctx.exec` children on abort (default 3000). */
  killGraceMs?: number;
}

/** `image:hpc/x` -> `image_hpc_x`: log file names safe on any filesystem. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class EngineContext {
  readonly root: string;
  readonly stateDir: string;
  readonly cacheDir: string;
  /** Environment used for `env` keys and tool lookup. */
  readonly env: NodeJS.ProcessEnv;
  readonly graph: Graph;
  readonly inputs: Inputs;
  readonly statics = new Statics();
  private readonly reporters: readonly Reporter[];
  private readonly logsDir: string;
  private current: StateStore | undefined;

  constructor(readonly opts: EngineOptions) {
    this.root = resolve(opts.root);
    this.stateDir = opts.stateDir ?? join(this.root, '.pharos');
    this.cacheDir = opts.cacheDir ?? defaultCacheDir(opts.env);
    this.env = opts.env ?? process.env;
    this.graph = buildGraph(opts.definition);
    this.reporters = opts.reporter === undefined ? [] : Array.isArray(opts.reporter) ? opts.reporter : [opts.reporter];
    this.logsDir = join(this.stateDir, 'logs');
    this.inputs = new Inputs(this.root);
  }

  /** Hands an event to every reporter. */
  readonly emit = (e: BuildEvent): void => {
    for (const r of this.reporters) r.event(e);
  };

  /** Log file of a target. */
  readonly logPath = (name: string): string => join(this.logsDir, `${sanitizeName(name)}.log`);

  /** The state store, read on first use. */
  readonly store = (): StateStore => (this.current ??= new StateStore(this.stateDir));

  /** Drops the store read so far (the next `store()` reads it again), or puts `s` in its place. */
  resetStore(s?: StateStore): void {
    this.current = s;
  }
}
