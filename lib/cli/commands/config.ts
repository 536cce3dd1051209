/**
 * Config commands: `validate`, `render`, `plan`, `migrate`. The config
 * argument defaults to the global `-c/--config`, then $PHAROS_CONFIG, then the
 * embedded `config/local.yaml`. An ai-how config is rewritten into Pharos's
 * form with one warning per rewrite (lib/config/compat.ts); `--strict` rejects
 * it instead, and `migrate` writes the rewritten file.
 */
import { examples } from '../help.js';
import type { Command } from 'commander';
import { PharosError, formatDetail } from '../../errors.js';
import { printConfigWarnings } from '../config-warnings.js';
import { explicitConfig } from '../project.js';
import type { SystemPlan } from '../../model.js';

export interface ConfigGlobals {
  config?: string;
  json?: boolean;
}

export async function resolveConfigPath(arg: string | undefined, globals: ConfigGlobals): Promise<string> {
  if (arg) return arg;
  const named = explicitConfig(globals.config);
  if (named) return named;
  const { DEFAULT_CONFIG } = await import('../../config/load.js');
  return DEFAULT_CONFIG;
}

/** Where SSH reaches each VM that exists, from its cluster's state (the
 *  authoritative port: lib/cluster/access.ts); none for a cluster not made. */
async function reachedEndpoints(p: SystemPlan): Promise<Map<string, { host: string; port: number }>> {
  const { clusterPaths, defaultDataRoot, defaultStateRoot } = await import('../../cluster/paths.js');
  const { readState } = await import('../../cluster/state.js');
  const { accessFromState } = await import('../../cluster/access.js');
  const out = new Map<string, { host: string; port: number }>();
  for (const c of p.clusters) {
    const paths = clusterPaths(c.name, defaultStateRoot(), defaultDataRoot(c.libvirtUri));
    for (const [vm, a] of accessFromState(await readState(paths.stateFile), paths).nodes) out.set(vm, a);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a cluster config: schema, variables, cross-field rules (every problem at once)')
    .argument('[config]', 'cluster YAML (default: -c, $PHAROS_CONFIG, config/local.yaml)')
    .option('--strict', 'reject ai-how forms instead of rewriting them (for configs already migrated)')
    .addHelpText(
      'after',
      examples([
        ['pharos validate', 'check config/local.yaml (or -c FILE, or $PHAROS_CONFIG)'],
        ['pharos validate config/example-multi-gpu-clusters.yaml', 'check another config; every problem at once, as file:line:column'],
        ['pharos validate --json my.yaml', 'a JSON verdict on stdout: {ok, clusters, vms, warnings, errors}'],
      ]),
    )
    .action(async (config: string | undefined, o: { strict?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<ConfigGlobals>();
      const path = await resolveConfigPath(config, g);
      const { loadConfig } = await import('../../config/load.js');
      const { planSystem } = await import('../../config/plan.js');
      const strict = o.strict === true;
      if (g.json) {
        try {
          const l = await loadConfig(path, { strict });
          const p = planSystem(l);
          process.stdout.write(
            `${JSON.stringify({ ok: true, path: l.path, clusters: p.clusters.map((c) => c.name), vms: p.clusters.flatMap((c) => c.nodes.map((n) => n.name)), compat: l.compat, warnings: l.warnings, errors: [] }, null, 2)}\n`,
          );
        } catch (e) {
          if (!(e instanceof PharosError)) throw e;
          process.stdout.write(`${JSON.stringify({ ok: false, path, message: e.message, compat: [], warnings: [], errors: e.problems }, null, 2)}\n`);
          process.exitCode = e.exitCode;
        }
        return;
      }
      const l = await loadConfig(path, { strict });
      const p = planSystem(l);
      printConfigWarnings(l);
      const vms = p.clusters.reduce((s, c) => s + c.nodes.length, 0);
      const notes = [l.compat.length ? `${l.compat.length} ai-how rewrite(s)` : '', l.warnings.length ? `${l.warnings.length} warning(s)` : ''].filter(Boolean);
      process.stdout.write(`ok: ${l.path}: ${p.clusters.map((c) => `${c.kind} cluster ${c.name}`).join(', ')}; ${vms} VMs${notes.map((x) => `; ${x}`).join('')}\n`);
    });

  program
    .command('render')
    .description('print the config with ${VAR} expanded (what Pharos validates)')
    .argument('[config]', 'cluster YAML (default: -c, $PHAROS_CONFIG, config/local.yaml)')
    .action(async (config: string | undefined, _o: unknown, cmd: Command) => {
      const path = await resolveConfigPath(config, cmd.optsWithGlobals<ConfigGlobals>());
      const { loadConfig } = await import('../../config/load.js');
      const l = await loadConfig(path);
      process.stdout.write(cmd.optsWithGlobals<ConfigGlobals>().json ? `${JSON.stringify(l.config, null, 2)}\n` : l.rendered);
    });

  program
    .command('plan')
    .description('show what the config means: VMs, images, networks, ports, GPU assignment, what a build creates')
    .argument('[config]', 'cluster YAML (default: -c, $PHAROS_CONFIG, config/local.yaml)')
    .option('--format <format>', 'text, json or markdown', 'text')
    .action(async (config: string | undefined, o: { format: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<ConfigGlobals>();
      const format = g.json ? 'json' : o.format;
      if (!['text', 'json', 'markdown'].includes(format)) {
        throw new PharosError(`unknown plan format \`${format}\``, { hint: 'use --format text, json or markdown', exitCode: 2 });
      }
      const path = await resolveConfigPath(config, g);
      const { loadConfig } = await import('../../config/load.js');
      const { planSystem } = await import('../../config/plan.js');
      const l = await loadConfig(path);
      const p = planSystem(l);
      // Warnings go to stderr in every format: stdout stays the plan.
      printConfigWarnings(l);
      if (format === 'json') {
        process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
        return;
      }
      const r = await import('../../config/render-plan.js');
      const reached = await reachedEndpoints(p);
      process.stdout.write(`${format === 'markdown' ? r.planMarkdown(p, reached) : r.planText(p, reached)}\n`);
    });

  program
    .command('migrate')
    .description('write the Pharos form of an ai-how config (comments and key order kept) and list each rewrite')
    .argument('<config>', 'cluster YAML written for ai-how')
    .option('-o, --output <file>', 'write here (default: stdout); may be the input file itself')
    .action(async (config: string, o: { output?: string }) => {
      const { migrateFile } = await import('../../config/migrate.js');
      const m = await migrateFile(config);
      const { resolve } = await import('node:path');
      const lines = m.rewrites.map((r) => `  ${formatDetail({ ...r, hint: undefined })}`);
      process.stderr.write(
        m.rewrites.length ? `${resolve(config)}: ${m.rewrites.length} rewrite(s):\n${lines.join('\n')}\n` : `${resolve(config)}: already in the Pharos form; nothing to rewrite\n`,
      );
      if (o.output) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(o.output, m.text);
        process.stderr.write(`wrote ${o.output}\n`);
      } else process.stdout.write(m.text);
    });
}
