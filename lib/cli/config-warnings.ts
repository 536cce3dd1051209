/**
 * How a loaded config's warnings reach the user (validate, plan, build): the
 * ai-how compatibility rewrites as one group, a heading line and one line per
 * rewrite (file:line:column: field: what became what, and why); then the other
 * warnings (host fit, device order), each as before.
 */
import { formatDetail, type ErrorDetail } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';

export function configWarningLines(l: Pick<LoadedConfig, 'path' | 'compat' | 'warnings'>): string[] {
  const out: string[] = [];
  const n = l.compat.length;
  if (n) {
    out.push(`warning: ${l.path}: ${n} ai-how form${n === 1 ? '' : 's'} rewritten (pharos migrate writes the Pharos form; --strict rejects them):`);
    for (const r of l.compat) out.push(`  ${formatDetail({ ...r, hint: undefined })}`);
  }
  for (const w of l.warnings) out.push(`warning: ${formatDetail(w).replace(/\n/g, '\n  ')}`);
  return out;
}

export function printConfigWarnings(l: Pick<LoadedConfig, 'path' | 'compat' | 'warnings'>): void {
  const lines = configWarningLines(l);
  if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
}

/**
 * Commands that use a config without being about it (inventory, cluster, doctor):
 * an ai-how config is still never rewritten silently, but one line says so and
 * where the list is, instead of the whole group.
 */
export function noteCompat<T extends Pick<LoadedConfig, 'path' | 'compat'>>(l: T): T {
  const n = l.compat.length;
  if (n) {
    process.stderr.write(
      `warning: ${l.path}: ${n} ai-how form${n === 1 ? '' : 's'} rewritten as it loaded (pharos validate lists them; pharos migrate writes the Pharos form)\n`,
    );
  }
  return l;
}

/** The same warnings for `--json` output. */
export function configWarningsJson(l: Pick<LoadedConfig, 'compat' | 'warnings'>): { compat: ErrorDetail[]; warnings: ErrorDetail[] } {
  return { compat: l.compat, warnings: l.warnings };
}

/**
 * `pharos build`: loads the project's config once before the graph does, so
 * its warnings reach the user (grouped on stderr, or one NDJSON
 * `config-warnings` event with --json) and `--strict` can reject ai-how forms.
 * A project without a config file is left to its graph.
 */
export async function configPreflight(configPath: string, root: string, o: { strict?: boolean; json?: boolean }): Promise<void> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(configPath)) return;
  const { loadConfig } = await import('../config/load.js');
  const l = await loadConfig(configPath, { root, strict: o.strict === true });
  if (!l.compat.length && !l.warnings.length) return;
  if (o.json) process.stdout.write(`${JSON.stringify({ type: 'config-warnings', path: l.path, ...configWarningsJson(l) })}\n`);
  else printConfigWarnings(l);
}
