/**
 * The target model: a target is a typed value made by `target({...})`, an alias
 * is a named set of targets. Nothing here runs anything; `lib/run` does.
 */
import type { ExecOptions, ExecResult } from '../tools/exec.js';

/** Marks engine-made values so a graph can reject look-alike objects. */
const TARGET = Symbol.for('pharos.target');
const ALIAS = Symbol.for('pharos.alias');

/** A program whose version joins a key; `args` defaults to `['--version']`. */
export type ToolSpec = string | { name: string; args?: string[] };

export interface ProbeContext {
  /**
   * Memo shared by every probe of one build: the first caller runs `fn`, the
   * others share its promise. One batched `virsh list` can serve all VM probes.
   */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  root: string;
  signal: AbortSignal;
}

export interface RunContext<DO> {
  /** The target's name. */
  name: string;
  /** Outputs of `deps`, under the keys they were declared with. */
  deps: DO;
  /** Project root (directory holding pharos.build.ts). */
  root: string;
  /** `.pharos` under the root: records, logs, lock. */
  stateDir: string;
  /** Machine-level artifact cache: `$PHAROS_CACHE` or `~/.cache/pharos`. */
  cacheDir: string;
  /** Hex digest of this target's cache key: names content-addressed artifacts
   *  (the same inputs on any clone of this machine give the same key). */
  key: string;
  /** Aborted on Ctrl-C/SIGTERM; `exec` children are terminated through it. */
  signal: AbortSignal;
  /** Last successful output of this target (e.g. to keep an allocated port). */
  previous?: unknown;
  /** Appends a line to `.pharos/logs/<target>.log` (shown whole on failure). */
  log(line: string): void;
  /** Sets the short phase shown on the status line. */
  phase(text: string): void;
  /** `lib/tools/exec.ts` with output streamed to the log and `signal` wired. */
  exec(cmd: string, args: string[], opts?: ExecOptions): Promise<ExecResult>;
}

/** Maps a record of dependency targets to the record of their output types. */
export type DepOutputs<D> = { [K in keyof D]: D[K] extends Target<infer X> ? X : never };

export interface TargetSpec<O, D extends Record<string, Target<unknown>>> {
  /** Unique name, `kind:id` by convention: `image:base`, `vm:hpc-compute-01`. */
  name: string;
  description?: string;
  /** Dependencies; their outputs reach `run` as `ctx.deps.<key>` and join the key. */
  deps?: D;
  /** Order-only dependencies: they finish first, their outputs do not join the key. */
  after?: Target<unknown>[];
  /**
   * Files whose contents join the key: paths or globs relative to the root. A
   * path without glob characters is read as is (a directory means everything
   * under it); globs go through globby (dotfiles included, `.pharos` excluded).
   */
  inputs?: string[];
  /** JSON-serialisable config slice; joins the key as key-sorted JSON. */
  params?: unknown;
  /** Environment variable names whose values join the key. */
  env?: string[];
  /** Programs whose first `--version` line joins the key (memoised per process). */
  tools?: ToolSpec[];
  /** Named pool (see `GraphDefinition.pools`) limiting how many run at once. */
  pool?: string;
  /** Runs on every build (host checks, tests that must re-check). */
  always?: boolean;
  /**
   * Targets `pharos watch` keeps built along with this one (a deploy role's
   * suites, so a save re-runs the role and then its checks). Not part of the key.
   */
  watchAlso?: string[];
  /** Absolute paths of files the output names; digested after run, a missing one is a miss, a directory an error. */
  outputFiles?: (out: O) => string[];
  /** Live check of a recorded result: `true` = still there, a string = why stale. */
  probe?: (out: O, ctx: ProbeContext) => Promise<true | string>;
  /** Does the work; the returned value must be JSON-serialisable (it is recorded). */
  run: (ctx: RunContext<DepOutputs<D>>) => Promise<O>;
}

/**
 * The spec as the engine sees it: output types erased. Method syntax keeps it
 * bivariant, so `Target<O>` stays covariant in `O` (a `Target<{x: number}>` is a
 * `Target<unknown>`).
 */
export interface EngineSpec {
  name: string;
  description?: string;
  deps?: Record<string, Target<unknown>>;
  after?: Target<unknown>[];
  inputs?: string[];
  params?: unknown;
  env?: string[];
  tools?: ToolSpec[];
  pool?: string;
  always?: boolean;
  watchAlso?: string[];
  outputFiles?(out: unknown): string[];
  probe?(out: unknown, ctx: ProbeContext): Promise<true | string>;
  run(ctx: RunContext<Record<string, unknown>>): Promise<unknown>;
}

export interface Target<O = unknown> {
  readonly name: string;
  readonly description?: string;
  /** @internal the spec; read by the engine only. */
  readonly spec: EngineSpec;
  /** @internal phantom field carrying the output type (never set). */
  readonly __output?: O;
}

export interface Alias {
  readonly name: string;
  readonly description?: string;
  /** Member targets or names of targets/aliases (resolved when the graph is checked). */
  readonly members: readonly (Target<unknown> | string)[];
}

export interface GraphDefinition {
  targets: Target<unknown>[];
  aliases?: Alias[];
  /** Pool name -> capacity (how many of its targets may run at once). */
  pools?: Record<string, number>;
  /** Files the graph factory read besides the config (a config's prolog and
   *  epilog scripts, the machine's GPU moves): `pharos watch` reloads the graph
   *  when one changes. */
  readFiles?: string[];
}

/** What `pharos.build.ts` receives; its default export is `(ctx) => GraphDefinition`. */
export interface GraphContext {
  root: string;
  configPath: string;
  env: NodeJS.ProcessEnv;
}

export type GraphFactory = (ctx: GraphContext) => GraphDefinition | Promise<GraphDefinition>;

/** Declares a target. The returned value is what dependents list in `deps`. */
export function target<O, D extends Record<string, Target<unknown>> = {}>(spec: TargetSpec<O, D>): Target<O> {
  if (typeof spec.name !== 'string' || spec.name.length === 0) throw new TypeError('target(): name must be a non-empty string');
  if (typeof spec.run !== 'function') throw new TypeError(`target(${spec.name}): run must be a function`);
  const t = {
    name: spec.name,
    description: spec.description,
    spec: spec as unknown as EngineSpec,
  };
  Object.defineProperty(t, TARGET, { value: true });
  return Object.freeze(t) as Target<O>;
}

/** A name standing for several targets (`cluster`, `images`). */
export function alias(name: string, members: (Target<unknown> | string)[], description?: string): Alias {
  const a = { name, description, members: [...members] };
  Object.defineProperty(a, ALIAS, { value: true });
  return Object.freeze(a);
}

export function isTarget(v: unknown): v is Target<unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TARGET] === true;
}

export function isAlias(v: unknown): v is Alias {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[ALIAS] === true;
}

export function toolName(t: ToolSpec): string {
  return typeof t === 'string' ? t : t.name;
}
