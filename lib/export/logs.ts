/**
 * `pharos export logs [DEST]`: everything needed to debug a failed build or
 * e2e run, gathered into one directory (or a `.tar.gz` when DEST ends so), as
 * kind's `export logs` does for CI:
 *
 *   MANIFEST                       one line per item: status, path, detail
 *   doctor.json                    `pharos doctor --json` of this host
 *   build/logs/…, build/reports/…  the checkout's `.pharos/logs` and `/reports`
 *   clusters/<c>/state.json        the cluster state (names, ports, paths; no keys)
 *   clusters/<c>/console/<vm>.log  the VMs' serial console logs (consoleDir)
 *   clusters/<c>/nodes/<vm>/…      over SSH, where a node answers: node-info,
 *                                  journal, slurmctld.log, slurmd.log
 *
 * Nothing here is fatal: an item that cannot be read, a node that does not
 * answer (connect and every command are bounded by timeouts) is a line in the
 * MANIFEST, and the export goes on. Remote commands run on all nodes at once.
 */
import { cp, mkdir, readdir, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { PharosError } from '../errors.js';
import { clusterPaths, defaultDataRoot } from '../cluster/paths.js';
import { listStates, type ClusterState, type VmRecord } from '../cluster/state.js';
import { exec } from '../tools/exec.js';
import { connect, run, type SshConnection } from '../tools/ssh.js';

export type EntryStatus = 'ok' | 'missing' | 'failed' | 'unreachable';

export interface ManifestEntry {
  /** Path inside the export (a node's directory for `unreachable`). */
  path: string;
  status: EntryStatus;
  detail?: string;
}

export interface ExportOptions {
  /** A directory (made), or a file ending in .tar.gz / .tgz. */
  dest: string;
  /** The checkout's `.pharos` (build logs, reports); none outside a checkout. */
  projectStateDir?: string;
  /** Where cluster state lives (`defaultStateRoot()`). */
  stateRoot: string;
  /** Only these clusters (default: every one with state). */
  clusters?: string[];
  /** The doctor report (`doctor --json`). */
  doctor: () => Promise<unknown>;
  /** Remote user (default root). */
  user?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ExportResult {
  path: string;
  tarball: boolean;
  entries: ManifestEntry[];
}

/** Lines kept of each remote log: a journal can be gigabytes. */
export const REMOTE_LINES = 20000;

/** What is fetched from each node that answers: name, then a command (exit 3: absent, not a failure). */
export const REMOTE_ITEMS: ReadonlyArray<readonly [string, string]> = [
  ['node-info.txt', 'hostname; uname -a; uptime; echo; df -h; echo; free -m; echo; ip -brief addr 2>/dev/null || true'],
  ['journal.log', `command -v journalctl >/dev/null || exit 3; journalctl --no-pager -b -o short-iso -n ${REMOTE_LINES}`],
  ['slurmctld.log', `test -r /var/log/slurm/slurmctld.log || exit 3; tail -n ${REMOTE_LINES} /var/log/slurm/slurmctld.log`],
  ['slurmd.log', `test -r /var/log/slurm/slurmd.log || exit 3; tail -n ${REMOTE_LINES} /var/log/slurm/slurmd.log`],
];

const TARBALL = /\.(tar\.gz|tgz)$/;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

export function manifestText(entries: readonly ManifestEntry[], at = new Date()): string {
  const w = Math.max(4, ...entries.map((e) => e.path.length));
  const lines = entries.map((e) => `${e.status.padEnd(11)} ${e.path.padEnd(w)}${e.detail ? `  ${e.detail}` : ''}`.trimEnd());
  return `# pharos export logs, ${at.toISOString()}\n# status      path  detail\n${lines.join('\n')}\n`;
}

/** Copies a file or directory into the export, noting the outcome. */
async function copyItem(from: string, out: string, rel: string, entries: ManifestEntry[]): Promise<void> {
  try {
    const st = await stat(from);
    await mkdir(dirname(join(out, rel)), { recursive: true });
    if (st.isDirectory()) await cp(from, join(out, rel), { recursive: true });
    else await copyFile(from, join(out, rel));
    entries.push({ path: rel, status: 'ok', detail: from });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    entries.push({ path: rel, status: code === 'ENOENT' ? 'missing' : 'failed', detail: code === 'ENOENT' ? `${from} does not exist` : message(e) });
  }
}

async function consoleLogs(state: ClusterState, out: string, entries: ManifestEntry[]): Promise<void> {
  const dir = clusterPaths(state.cluster, '', defaultDataRoot(state.uri)).consoleDir;
  const files = new Map<string, string>();
  for (const vm of Object.values(state.vms)) if (vm.consoleLog) files.set(basename(vm.consoleLog), vm.consoleLog);
  try {
    for (const f of await readdir(dir)) if (!files.has(f)) files.set(f, join(dir, f));
  } catch {
    /* no console directory: the VMs' own paths are still tried */
  }
  for (const [name, from] of [...files].sort()) await copyItem(from, out, join('clusters', state.cluster, 'console', name), entries);
}

async function nodeLogs(state: ClusterState, vm: VmRecord, o: ExportOptions, out: string): Promise<ManifestEntry[]> {
  const paths = clusterPaths(state.cluster, o.stateRoot, defaultDataRoot(state.uri));
  const rel = join('clusters', state.cluster, 'nodes', vm.name);
  let conn: SshConnection;
  try {
    conn = await connect({
      host: vm.sshHost,
      port: vm.sshPort,
      username: o.user ?? 'root',
      privateKeyPath: paths.privateKey,
      knownHostsPath: paths.knownHosts,
      hostAlias: vm.name,
      readyTimeoutMs: o.connectTimeoutMs ?? 15_000,
    });
  } catch (e) {
    return [{ path: rel, status: 'unreachable', detail: message(e) }];
  }
  const entries: ManifestEntry[] = [];
  try {
    await mkdir(join(out, rel), { recursive: true });
    for (const [file, command] of REMOTE_ITEMS) {
      const path = join(rel, file);
      try {
        const r = await run(conn, command, { timeoutMs: o.commandTimeoutMs ?? 60_000, what: `${file} of ${vm.name}` });
        if (r.code === 3) entries.push({ path, status: 'missing', detail: `not on ${vm.name}` });
        else {
          await writeFile(join(out, path), r.stdout);
          entries.push(r.code === 0 ? { path, status: 'ok' } : { path, status: 'failed', detail: `exit ${r.code}: ${r.stderr.trim().split('\n').at(-1) ?? ''}` });
        }
      } catch (e) {
        entries.push({ path, status: 'failed', detail: message(e) });
        if (conn.closed) break;
      }
    }
  } finally {
    conn.close();
  }
  return entries;
}

export async function exportLogs(o: ExportOptions): Promise<ExportResult> {
  const tarball = TARBALL.test(o.dest);
  // A tarball is filled as a directory beside it, then packed under the tarball's own name.
  const out = tarball ? o.dest.replace(TARBALL, '') : o.dest;
  if (tarball && existsSync(out)) throw new PharosError(`${out} exists; it would be packed into ${basename(o.dest)}`, { hint: 'move it away, or name another tarball' });
  await mkdir(out, { recursive: true });
  const entries: ManifestEntry[] = [];
  const log = o.log ?? (() => {});

  log('export: doctor');
  try {
    await writeFile(join(out, 'doctor.json'), `${JSON.stringify(await o.doctor(), null, 2)}\n`);
    entries.push({ path: 'doctor.json', status: 'ok' });
  } catch (e) {
    entries.push({ path: 'doctor.json', status: 'failed', detail: message(e) });
  }

  if (o.projectStateDir) {
    log('export: build logs and reports');
    for (const d of ['logs', 'reports']) await copyItem(join(o.projectStateDir, d), out, join('build', d), entries);
  } else entries.push({ path: 'build', status: 'missing', detail: 'not in a Pharos checkout' });

  const states = (await listStates(o.stateRoot)).filter((s) => !o.clusters || o.clusters.includes(s.cluster));
  if (!states.length) entries.push({ path: 'clusters', status: 'missing', detail: `no cluster state under ${o.stateRoot}` });
  const remote: Array<Promise<ManifestEntry[]>> = [];
  for (const s of states) {
    log(`export: cluster ${s.cluster}`);
    await copyItem(clusterPaths(s.cluster, o.stateRoot, '').stateFile, out, join('clusters', s.cluster, 'state.json'), entries);
    await consoleLogs(s, out, entries);
    for (const vm of Object.values(s.vms)) remote.push(nodeLogs(s, vm, o, out));
  }
  if (remote.length) log(`export: journals and Slurm logs of ${remote.length} node(s) over SSH`);
  for (const r of await Promise.all(remote)) entries.push(...r);

  await writeFile(join(out, 'MANIFEST'), manifestText(entries));
  if (!tarball) return { path: out, tarball, entries };
  await exec('tar', ['-czf', o.dest, '-C', dirname(out), relative(dirname(out), out)], { timeoutMs: 300_000, pkg: 'tar' });
  await rm(out, { recursive: true, force: true });
  return { path: o.dest, tarball, entries };
}
