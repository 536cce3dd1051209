/**
 * Config commands: `validate`, `render`, `plan`. The config argument defaults
 * to the global `-c/--config`, then $PHAROS_CONFIG, then the embedded
 * `config/local.yaml`.
 */
import type { Command } from 'commander';
import { PharosError, formatDetail, type ErrorDetail } from '../../errors.js';

export interface ConfigGlobals {
  config?: string;
  json?: boolean;
}

export async function resolveConfigPath(arg: string | undefined, globals: ConfigGlobals): Promise<string> {
  if (arg) return arg;
  if (globals.config) return globals.config;
  if (process.env['PHAROS_CONFIG']) return process.env['PHAROS_CONFIG'];
  const { DEFAULT_CONFIG } = await import('../../config/load.js');
  return DEFAULT_CONFIG;
}

function printWarnings(ws: ErrorDetail[]): void {
  for (const w of ws) process.stderr.write(`warning: ${formatDetail(w).replace(/\n/g, '\n  ')}\n`);
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a cluster config: schema, variables, cross-field rules (every problem at once)')
    .argument('[config]', 'cluster YAML (default: -c, $PHAROS_CONFIG, config/local.yaml)')
    .action(async (config: string | undefined, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<ConfigGlobals>();
      const path = await resolveConfigPath(config, g);
      const { loadConfig } = await import('../../config/load.js');
      const { planSystem } = await import('../../config/plan.js');
      if (g.json) {
        try {
          const l = await loadConfig(path);
          const p = planSystem(l);
          process.stdout.write(`${JSON.stringify({ ok: true, path: l.path, clusters: p.clusters.map((c) => c.name), vms: p.clusters.flatMap((c) => c.nodes.map((n) => n.name)), warnings: l.warnings, errors: [] }, null, 2)}\n`);
        } catch (e) {
          if (!(e instanceof PharosError)) throw e;
          process.stdout.write(`${JSON.stringify({ ok: false, path, message: e.message, warnings: [], errors: e.problems }, null, 2)}\n`);
          process.exitCode = e.exitCode;
        }
        return;
      }
      const l = await loadConfig(path);
      const p = planSystem(l);
      printWarnings(l.warnings);
      const vms = p.clusters.reduce((s, c) => s + c.nodes.length, 0);
      process.stdout.write(`ok: ${l.path}: ${p.clusters.map((c) => `${c.kind} cluster ${c.name}`).join(', ')}; ${vms} VMs${l.warnings.length ? `; ${l.warnings.length} warning(s)` : ''}\n`);
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
      if (format === 'json') {
        process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
        return;
      }
      printWarnings(l.warnings);
      const r = await import('../../config/render-plan.js');
      process.stdout.write(`${format === 'markdown' ? r.planMarkdown(p) : r.planText(p)}\n`);
    });
}
