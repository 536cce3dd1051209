/**
 * # Pharos — public API (the one entry point)
 *
 * A build is a graph of typed targets. `pharos.build.ts` default-exports a
 * function `(ctx: GraphContext) => GraphDefinition` that returns them:
 *
 * ```ts
 * import { target, alias, type GraphContext } from './lib/index.js';
 * export default (ctx: GraphContext) => {
 *   const base = target({
 *     name: 'image:base',
 *     inputs: ['packer/base/**'],            // file contents join the key
 *     params: { suite: 'bookworm' },         // config slice, key-sorted JSON joins the key
 *     tools: ['mmdebstrap', { name: 'qemu-img', args: ['--version'] }],
 *     env: ['HTTP_PROXY'],
 *     outputFiles: (o) => [o.qcow2],         // digested after run; a missing one is a miss
 *     run: async (ctx) => { await ctx.exec('mmdebstrap', [...]); return { qcow2: '/abs/base.qcow2' }; },
 *   });
 *   const vm = target({
 *     name: 'vm:c1', deps: { base }, pool: 'vm',
 *     probe: async (out, p) => ((await p.once('virsh-list', listDomains)).has(out.domain) ? true : 'domain is gone'),
 *     run: async (ctx) => ({ domain: 'c1', disk: ctx.deps.base.qcow2 }),   // ctx.deps.base is typed
 *   });
 *   return { targets: [base, vm], aliases: [alias('cluster', [vm])], pools: { vm: 2 } };
 * };
 * ```
 *
 * ## Semantics
 * - **Key** (`lib/cache/key.ts` `CacheKey`): name, definition (source text of
 *   run/probe/outputFiles + static spec), params, input digests, dependency
 *   output digests, env values, tool versions. `pharos why T` names the first
 *   component that changed.
 * - **Up to date** = recorded key equals the key now, recorded output files are
 *   unchanged, and `probe` (if any) returns `true`. `always: true` runs every build.
 * - **Outputs** must be JSON-serialisable: they are recorded and handed to
 *   dependents (and to the next run as `ctx.previous`) from the record.
 * - **Early cutoff**: dependents key on the dep's *output digest*; a dep that
 *   rebuilt to the same output leaves them cached.
 * - **Stat fast path**: files are re-read only when (size, mtime_ns, ctime_ns,
 *   inode) changed. A target's record also holds a *stamp fingerprint*: the
 *   digest of its key with input and output files as (path, stamp). When the
 *   fingerprint computed from fresh stats matches, the target is up to date
 *   (after its probe) without reading the stamp table or building the key; a
 *   mismatch falls back to the full key check (same answers, e.g. a touched
 *   file with unchanged content stays cached and its new stamps are recorded).
 * - **State**: `.pharos/state.json` (records) + `stamps.json` (path -> stamp,
 *   digest; read only when a fingerprint mismatches) + `keys.json` (full keys,
 *   for why) + `journal.ndjson` (records appended only after success), logs in
 *   `.pharos/logs/<name>.log`, `.pharos/lock`.
 * - **Scheduling**: `-j N`, pools (`pools: { vm: 2 }`), critical-path first,
 *   `keepGoing`, `dryRun`; abort (Ctrl-C) terminates `ctx.exec` children and
 *   records nothing that finishes after it.
 *
 * ## Programmatic use (tests, bench, watch)
 * ```ts
 * const engine = createEngine({ root, definition, jobs: 4, reporter: plainReporter() });
 * const summary = await engine.build(['cluster']);   // BuildSummary: per-target status, wallMs, criticalPath
 * await engine.explain('image:base');                // the `why` sentence
 * await engine.states();                             // fresh / dirty / never-built
 * ```
 *
 * Skips and failures carry their cause as values: `TargetResult.skip`
 * (`SkipReason`) and `.fail` (`FailReason`); `reason` is the sentence.
 *
 * Layers point down: `lib/graph` (targets, the checked graph) knows nothing
 * of `lib/run` (the engine); this file is the only one that joins them.
 */
export * from './graph/index.js';
export { createEngine, defaultCacheDir, sanitizeName, type Engine, type EngineOptions, type TargetState } from './run/engine.js';
export { skipText, failText } from './run/events.js';
export type { BuildEvent, BuildSummary, Reporter, TargetResult, TargetStatus, SkipReason, FailReason } from './run/events.js';
export { plainReporter, ttyReporter, jsonReporter, memoryReporter, teeReporter, summaryText } from './run/reporters.js';
export type { CacheKey } from './cache/key.js';
