/**
 * The engine's commands: build, list, why, graph, clean, watch. Heavy modules
 * (engine, reporters, chokidar) are imported inside the actions, so `--help`
 * and other commands start fast.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import type { Engine } from '../../run/engine.js';
import type { BuildSummary, Reporter } from '../../run/events.js';
import type { Interrupt } from '../../run/signals.js';
import { loadProject, projectPaths, type GlobalOptions, type Project } from '../project.js';
import { examples } from '../help.js';

export async function makeEngine(opts: GlobalOptions, project: Project, extra: { signal?: AbortSignal; reporter?: Reporter } = {}): Promise<Engine> {
  const { createEngine } = await import('../../run/engine.js');
  return createEngine({
    root: project.root,
    stateDir: project.stateDir,
    definition: project.definition,
    jobs: opts.jobs,
    keepGoing: opts.keepGoing,
    dryRun: opts.dryRun,
    signal: extra.signal,
    reporter: extra.reporter,
  });
}

export async function reporterFor(opts: GlobalOptions): Promise<Reporter> {
  const r = await import('../../run/reporters.js');
  if (opts.json) return r.jsonReporter();
  const { styledOutput } = await import('../../util/terminal.js');
  return styledOutput(process.stderr) ? r.ttyReporter({ verbose: opts.verbose }) : r.plainReporter({ verbose: opts.verbose });
}

/** SIGINT, SIGTERM, SIGHUP and a closed output stop the build (see lib/run/signals.ts); `off()` removes the handlers, `off.exitCode()` is 129/130/141/143. */
export async function onInterrupt(ac: AbortController): Promise<Interrupt> {
  return (await import('../../run/signals.js')).onInterrupt(ac);
}

/**
 * The one way a command builds targets: the engine with a reporter (default:
 * the usual one for these options), SIGINT/SIGTERM/SIGHUP stopping it, the
 * reporter closed and the handlers removed however it ends. `exitCode` is 0,
 * 1 (a target failed) or 129/130/141/143 (which signal stopped it; 141: the output closed).
 */
export async function buildTargets(
  opts: GlobalOptions,
  project: Project,
  targets: string[],
  o: { reporter?: Reporter } = {},
): Promise<{ summary: BuildSummary; exitCode: number }> {
  const reporter = o.reporter ?? (await reporterFor(opts));
  const ac = new AbortController();
  const off = await onInterrupt(ac);
  try {
    const engine = await makeEngine(opts, project, { signal: ac.signal, reporter });
    const summary = await engine.build(targets);
    return { summary, exitCode: summary.interrupted ? off.exitCode() : summary.ok ? 0 : 1 };
  } finally {
    reporter.close?.();
    off();
  }
}

function defaultTargets(project: Project, given: string[]): string[] {
  if (given.length) return given;
  if ((project.definition.aliases ?? []).some((a) => a.name === 'cluster') || project.definition.targets.some((t) => t.name === 'cluster')) return ['cluster'];
  throw new PharosError('no target given and the graph has no `cluster` alias', { hint: 'name targets: pharos build TARGET… (see pharos list)' });
}

export function register(program: Command): void {
  program
    .command('build')
    .description('build targets (names, aliases or globs like "image:*", "vm:pharos-compute-0[12]") and what they need; only what changed runs')
    .argument('[targets...]', 'targets to build (default: the `cluster` alias)')
    .option('--strict', 'reject an ai-how config instead of rewriting it (see pharos migrate)')
    .option('--trace <file>', 'write a Chrome/Perfetto trace of the build to FILE: a slice per target, a track per pool place (ui.perfetto.dev)')
    .addHelpText(
      'after',
      '\nGlobal options that matter here: -j N, -k/--keep-going, -n/--dry-run, --json, -v.\n' +
        'Exit status: 0 ok, 1 a target failed (or the build state is damaged: see pharos clean), 2 a bad config,\n' +
        '74 .pharos cannot be written (full disk, read-only), 75 another run holds the lock,\n' +
        '129/130/143 stopped by SIGHUP/SIGINT/SIGTERM, 141 stopped because its output closed (| head).',
    )
    .addHelpText(
      'after',
      examples([
        ['pharos build', 'build the whole cluster (the `cluster` alias): images, VMs, deploy, suites'],
        ['pharos build -n vms', 'show what building the VMs would run, and why; run nothing'],
        ["pharos build 'image:*' -j 2", 'build every VM and container image, at most two targets at once'],
        ['pharos build image:container:pytorch', 'the OCI image from containers/pytorch/ (an oci-archive in the machine cache)'],
        ['pharos build -k --json cluster > build.ndjson', 'keep going after a failure; one JSON event per line'],
      ]),
    )
    .action(async (targets: string[], o: { strict?: boolean; trace?: string }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const paths = projectPaths(opts);
      const { configPreflight } = await import('../config-warnings.js');
      await configPreflight(paths.configPath, paths.root, { strict: o.strict, json: opts.json });
      const project = await loadProject(opts);
      let reporter = await reporterFor(opts);
      if (o.trace) {
        // The trace is one more consumer of the build's events; the build is the same with or without it.
        const { openTrace, traceReporter } = await import('../../run/trace.js');
        const { teeReporter } = await import('../../run/reporters.js');
        openTrace(resolve(o.trace));
        const pool = new Map(project.definition.targets.map((t) => [t.name, t.spec.pool]));
        reporter = teeReporter(reporter, traceReporter(resolve(o.trace), (n) => pool.get(n)));
      }
      process.exitCode = (await buildTargets(opts, project, defaultTargets(project, targets), { reporter })).exitCode;
    });

  program
    .command('list')
    .description('list targets with their state: fresh, dirty (and why) or never built')
    .argument('[targets...]', 'only these targets (names, aliases, globs)')
    .option('--json', 'print a JSON array')
    .action(async (targets: string[], _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const project = await loadProject(opts);
      const engine = await makeEngine(opts, project);
      const states = await engine.states(targets);
      const desc = new Map(project.definition.targets.map((t) => [t.name, t.description ?? '']));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(states.map((s) => ({ ...s, description: desc.get(s.name) || undefined })), null, 2)}\n`);
        return;
      }
      const w = Math.max(6, ...states.map((s) => s.name.length));
      for (const s of states) {
        const state = s.state === 'fresh' ? 'fresh' : s.state === 'dirty' ? 'dirty' : 'never built';
        const why = s.state === 'dirty' ? s.reason : '';
        process.stdout.write(`${s.name.padEnd(w)}  ${state.padEnd(11)}  ${why || desc.get(s.name) || ''}\n`);
      }
      for (const a of project.definition.aliases ?? []) {
        process.stdout.write(`${a.name.padEnd(w)}  ${'alias'.padEnd(11)}  ${a.description ?? a.members.map((m) => (typeof m === 'string' ? m : m.name)).join(' ')}\n`);
      }
    });

  program
    .command('why')
    .description('explain why a target would run: the first part of its cache key that changed (old -> new)')
    .argument('<target>', 'target name')
    .option('--json', 'print {target, state, reason, also, builtAt}: state is fresh, dirty or never-built; also: dirty dependencies')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const engine = await makeEngine(opts, await loadProject(opts));
      const text = await engine.explain(name);
      if (!opts.json) {
        process.stdout.write(`${text}\n`);
        return;
      }
      const [st] = await engine.states([name]);
      const also = text.split('\n').filter((l) => l.startsWith('  also: ')).map((l) => l.slice('  also: '.length));
      const reason = !st ? text : st.state === 'fresh' ? 'up to date' : st.reason;
      const builtAt = st && st.state !== 'never-built' ? st.builtAt : undefined;
      const doc = { target: name, state: st?.state ?? 'never-built', reason, also, builtAt };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    });

  program
    .command('graph')
    .description('print the dependency graph (of TARGETs and what they need, or all): transitively reduced, aliases shown, each target coloured by its state')
    .argument('[targets...]', 'limit to these targets and their dependencies')
    .option('--format <fmt>', 'dot | mermaid | json', 'dot')
    .option('--full', 'every edge, also those implied by others (default: transitively reduced)')
    .addHelpText(
      'after',
      '\nA target is labelled fresh, dirty or never built (as pharos list) and filled green, yellow or grey;\n' +
        'dashed edges are order-only (after), dotted ones lead from an alias to its members.',
    )
    .action(async (targets: string[], o: { format: string; full?: boolean }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const fmt = opts.json ? 'json' : o.format;
      if (!['dot', 'mermaid', 'json'].includes(fmt)) throw new PharosError(`unknown graph format "${fmt}"`, { hint: 'use --format dot, mermaid or json', exitCode: 2 });
      const project = await loadProject(opts);
      const engine = await makeEngine(opts, project);
      const { closure, select } = await import('../../graph/graph.js');
      const { graphView, toDot, toMermaid } = await import('../../graph/render.js');
      const g = engine.graph;
      const nodes = targets.length ? closure(select(g, targets)) : g.nodes;
      const states = new Map((await engine.states(nodes.map((n) => n.name))).map((s) => [s.name, s.state]));
      const view = graphView(g, nodes, { full: o.full, states });
      const out = fmt === 'json' ? JSON.stringify(view, null, 2) : fmt === 'mermaid' ? toMermaid(view) : toDot(view);
      process.stdout.write(`${out}\n`);
    });

  program
    .command('clean')
    .description('forget build records and logs (all, or of TARGETs) so they rebuild; a damaged state is discarded; the machine cache is kept')
    .argument('[targets...]', 'targets to forget (default: all)')
    .action(async (targets: string[], _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const engine = await makeEngine(opts, await loadProject(opts));
      const { removed, notes } = engine.clean(targets);
      if (opts.json) process.stdout.write(`${JSON.stringify({ removed, notes })}\n`);
      else {
        for (const n of notes) process.stderr.write(`note: ${n}\n`);
        process.stdout.write(`forgot ${removed.length} record${removed.length === 1 ? '' : 's'}\n`);
      }
    });

  program
    .command('watch')
    .description('build TARGETs (and the suites a deploy role names), then rebuild on every change to their inputs (Ctrl-C to stop)')
    .argument('<targets...>', 'targets to keep built')
    .addHelpText(
      'after',
      examples([
        ['pharos watch deploy:slurm-controller', 'redeploy the controller role (and rerun its suites) on every edit of its inputs'],
        ["pharos watch 'image:*'", 'rebuild images as their packer/ansible files or container recipes change'],
      ]),
    )
    .action(async (targets: string[], _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      let project = await loadProject(opts);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
      const offGone = (await import('../../run/signals.js')).onOutputGone(stop);
      const reporter = await reporterFor(opts);
      const { watch } = await import('../../watch/index.js');
      const { formatError, isPharosError } = await import('../../errors.js');
      const { withCompanions } = await import('../../watch/index.js');
      const watched = withCompanions(project.definition, targets);
      if (watched.length > targets.length && !opts.json) process.stderr.write(`watching ${watched.join(', ')}\n`);
      try {
        await watch({
          targets: watched,
          reloadPaths: () => [project.buildFile, project.configPath, ...(project.definition.readFiles ?? [])],
          signal: ac.signal,
          load: async (fresh) => {
            if (fresh) project = await loadProject(opts, { fresh: true });
            return makeEngine(opts, project, { reporter });
          },
          build: (engine, t, signal) => engine.build(t, { signal }),
          onEvent: (e) => {
            if (opts.json) return;
            if (e.type === 'run-start' && e.run > 1) process.stderr.write(`\nchange: ${e.changed.slice(0, 3).join(', ')}${e.changed.length > 3 ? ` (+${e.changed.length - 3})` : ''}\n`);
            if (e.type === 'run-done') {
              if (e.error) process.stderr.write(`${isPharosError(e.error) ? formatError(e.error) : String(e.error)}\n`);
              process.stderr.write('watching for changes (Ctrl-C to stop)\n');
            }
            if (e.type === 'reload') process.stderr.write(e.ok ? 'reloaded the build graph\n' : `reload failed, keeping the old graph: ${isPharosError(e.error) ? formatError(e.error) : String(e.error)}\n`);
          },
        });
      } finally {
        reporter.close?.();
        for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, stop);
        offGone();
      }
      process.exitCode = 0;
    });
}
