/**
 * `pharos export logs [DEST]`: build logs, VM console logs, `doctor --json`
 * and, from each node that answers over SSH, its journal and Slurm logs, into
 * one directory or a .tar.gz (see lib/export/logs.ts). `pharos test e2e` runs
 * it on a failure.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultStateRoot } from '../../cluster/paths.js';
import type { ExportResult } from '../../export/logs.js';
import { findRootSync } from '../root.js';
import type { GlobalOptions } from '../project.js';
import { examples } from '../help.js';

export interface ExportLogsOptions {
  dest?: string;
  clusters?: string[];
  user?: string;
  log?: (line: string) => void;
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The export, with the defaults the command documents (also used by `test e2e`). */
export async function exportLogsFor(g: GlobalOptions, o: ExportLogsOptions = {}): Promise<ExportResult> {
  let root: string | undefined;
  try {
    root = findRootSync(g.root);
  } catch {
    root = undefined;
  }
  const dest = o.dest ? resolve(o.dest) : root ? join(root, '.pharos', 'export', `logs-${stamp()}`) : resolve(`pharos-logs-${stamp()}`);
  const { exportLogs } = await import('../../export/logs.js');
  const { doctorReport } = await import('./host.js');
  return exportLogs({
    dest,
    projectStateDir: root ? join(root, '.pharos') : undefined,
    stateRoot: defaultStateRoot(),
    clusters: o.clusters,
    user: o.user,
    doctor: () => doctorReport(undefined, g),
    log: o.log,
  });
}

export function register(program: Command): void {
  const exp = program.command('export').description('gather what is needed to debug a run');
  exp
    .command('logs')
    .description("build logs, VM console logs, doctor --json and each running node's journal and slurmctld/slurmd logs, into DEST")
    .argument('[dest]', 'a directory, or a file ending in .tar.gz or .tgz (default: .pharos/export/logs-<time>)')
    .option('--cluster <name>', 'only this cluster (repeatable; default: every cluster with state)', (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .option('-l, --user <user>', 'remote user for the node logs', 'root')
    .addHelpText(
      'after',
      '\nA node that does not answer (or a file that is not there) is a line in DEST/MANIFEST, not an error.\n' +
        'Prints the path; with --json: {path, tarball, entries: [{path, status, detail}]}. Exit status 0 unless DEST cannot be written.' +
        examples([
          ['pharos export logs', 'into .pharos/export/logs-<time>/'],
          ['pharos export logs /tmp/ci-logs.tar.gz', 'one tarball, e.g. for a CI artifact'],
        ]),
    )
    .action(async (dest: string | undefined, o: { cluster?: string[]; user: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const r = await exportLogsFor(g, { dest, clusters: o.cluster, user: o.user, log: g.json ? undefined : (l) => process.stderr.write(`${l}\n`) });
      if (g.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const bad = r.entries.filter((e) => e.status === 'failed' || e.status === 'unreachable');
      for (const e of bad) process.stderr.write(`note: ${e.path}: ${e.status}${e.detail ? `: ${e.detail}` : ''}\n`);
      process.stdout.write(`${r.path}\n`);
    });
}
