/**
 * Run a suite's checks inside the cluster VMs over SSH.
 *
 * Checks run one after another in file order (later checks may rely on
 * earlier ones); a check that targets several nodes (`all`, `each-compute`)
 * runs on them concurrently. One connection per node is opened on first use
 * and reused by every check. Exit 0 = pass, 77 = skip (reason = last output
 * line), anything else = fail; a check that could not be run at all (no SSH)
 * is an `error`.
 *
 * A check can hand a value to the checks after it by printing
 * `::export NAME=value` on stdout (how the controller's munge credential
 * reaches the compute nodes): the runner adds it to their environment.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PharosError, isPharosError } from '../errors.js';
import type { ClusterPlan, NodePlan } from '../model.js';
import type { NodeAccess } from '../cluster/access.js';
import { SshTimeoutError, connect, runScript, type SshConnection } from '../tools/ssh.js';
import { waitForSsh } from '../ssh/banner.js';
import { clusterEnv, computeNodes, controllerOf, nodeEnv } from './env.js';
import { SKIP_EXIT, type CheckDef, type NodeSelector, type SuiteDef } from './suite.js';

export { listSuites, loadSuite, suiteNames } from './suite.js';

export type CheckStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface CheckResult {
  suite: string;
  check: string;
  /** Short name of the node it ran on. */
  node: string;
  status: CheckStatus;
  durationMs: number;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
  /** One line: skip reason, failure summary or error. */
  message: string;
  exitCode?: number;
}

export interface SuiteResult {
  suite: string;
  cluster: string;
  status: 'pass' | 'fail';
  durationMs: number;
  startedAt: string;
  checks: CheckResult[];
}

/** Where a check reaches its node (lib/cluster/access.ts; `hostAlias` defaults to the node's domain name). */
export type { NodeAccess } from '../cluster/access.js';

export type SuiteEvent =
  | { type: 'suite-start'; suite: string; checks: number }
  | { type: 'check-start'; suite: string; check: string; node: string }
  | { type: 'output'; suite: string; check: string; node: string; line: string; stream: 'stdout' | 'stderr' }
  | { type: 'check-end'; result: CheckResult }
  | { type: 'suite-end'; result: SuiteResult };

export interface RunSuiteOptions {
  suite: SuiteDef;
  cluster: ClusterPlan;
  /** Keyed by node domain name or short name. */
  access: Map<string, NodeAccess>;
  keyFile: string;
  knownHostsFile: string;
  /** Login user where a node's access names none (default root). */
  user?: string;
  signal?: AbortSignal;
  onEvent?: (e: SuiteEvent) => void;
  /** How long to wait for each node's SSH banner before giving up (default 60 s). */
  sshWaitMs?: number;
  /** Only run these checks (by name). */
  only?: string[];
  /** Extra variables for every check (override the plan-derived ones). */
  env?: Record<string, string>;
  /** Connections to reuse across suites (see `openConnections`); closed by the caller. */
  connections?: ConnectionPool;
}

/** Lazily opened, verified connections, one per node. */
export class ConnectionPool {
  private readonly conns = new Map<string, Promise<SshConnection>>();
  constructor(
    private readonly opts: {
      access: Map<string, NodeAccess>;
      keyFile: string;
      knownHostsFile: string;
      user?: string;
      sshWaitMs?: number;
      signal?: AbortSignal;
    },
  ) {}

  async get(node: NodePlan): Promise<SshConnection> {
    let p = this.conns.get(node.name);
    // A connection that died (VM destroyed, sshd restarted) is replaced.
    if (p) {
      const c = await p.catch(() => undefined);
      if (!c || c.closed) p = undefined;
    }
    if (!p) {
      p = this.open(node);
      this.conns.set(node.name, p);
      // A failed connection is not cached: the next check retries it.
      const mine = p;
      p.catch(() => {
        if (this.conns.get(node.name) === mine) this.conns.delete(node.name);
      });
    }
    return p;
  }

  private async open(node: NodePlan): Promise<SshConnection> {
    const a = this.opts.access.get(node.name) ?? this.opts.access.get(node.shortName);
    if (!a) throw new PharosError(`no SSH address known for node ${node.name}`, { hint: 'is the VM defined and its inventory built?' });
    await waitForSsh({ host: a.host, port: a.port, timeoutMs: this.opts.sshWaitMs ?? 60000, signal: this.opts.signal });
    return connect({
      host: a.host,
      port: a.port,
      username: a.username ?? this.opts.user ?? 'root',
      privateKeyPath: this.opts.keyFile,
      knownHostsPath: this.opts.knownHostsFile,
      hostAlias: a.hostAlias ?? node.name,
      readyTimeoutMs: 30000,
    });
  }

  async closeAll(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    for (const p of all) {
      try {
        (await p).close();
      } catch {
        /* never opened */
      }
    }
  }
}

/** Which nodes a selector means in this cluster. */
export function selectNodes(cluster: ClusterPlan, sel: NodeSelector): NodePlan[] {
  switch (sel) {
    case 'controller':
      return [controllerOf(cluster)];
    case 'compute':
      // A controller-only cluster has none: the check is skipped, not an error.
      return computeNodes(cluster).slice(0, 1);
    case 'all':
      return [...cluster.nodes];
    case 'each-compute':
      return computeNodes(cluster);
  }
}

const EXPORT_RE = /^::export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/**
 * Shell lines that write a check's `@file`s into a fresh directory on the node
 * and export its path as `$PHAROS_CHECK_FILES` (mode 0755: a check may hand
 * them to a user). The content travels base64-encoded in a quoted here-document,
 * so no byte of it is ever read as shell.
 */
export async function companionPreamble(check: CheckDef): Promise<string> {
  if (check.companions.length === 0) return '';
  const lines = ['PHAROS_CHECK_FILES=$(mktemp -d /tmp/pharos-check.XXXXXX)', 'chmod 0755 "$PHAROS_CHECK_FILES"', 'export PHAROS_CHECK_FILES'];
  for (const c of check.companions) {
    const b64 = (await readFile(c.file)).toString('base64').replace(/.{1,76}/g, '$&\n');
    lines.push(`base64 -d > "$PHAROS_CHECK_FILES/${c.name}" <<'PHAROS_FILE_EOF'`, `${b64}PHAROS_FILE_EOF`, `chmod 0644 "$PHAROS_CHECK_FILES/${c.name}"`);
  }
  return `${lines.join('\n')}\n`;
}

async function runOne(
  opts: RunSuiteOptions,
  pool: ConnectionPool,
  check: CheckDef,
  node: NodePlan,
  env: Record<string, string>,
  exports: Map<string, string>,
): Promise<CheckResult> {
  const suite = opts.suite.name;
  const base = { suite, check: check.name, node: node.shortName };
  opts.onEvent?.({ type: 'check-start', ...base });
  const start = Date.now();
  let output = '';
  try {
    const conn = await pool.get(node);
    const body = opts.suite.prelude ? `${opts.suite.prelude}\n${check.script}` : check.script;
    const r = await runScript(conn, `${await companionPreamble(check)}${body}`, {
      timeoutMs: check.timeoutS * 1000,
      what: `check ${suite}/${check.name} on ${node.shortName}`,
      env: { ...env, ...nodeEnv(node), PHAROS_CHECK: check.name, PHAROS_HOST_EPOCH_MS: String(Date.now()), ...opts.env },
      signal: opts.signal,
      onLine: (line, stream) => {
        output += `${line}\n`;
        const m = stream === 'stdout' ? EXPORT_RE.exec(line) : null;
        if (m?.[1]) exports.set(m[1], m[2] ?? '');
        opts.onEvent?.({ type: 'output', ...base, line, stream });
      },
    });
    const status: CheckStatus = r.code === 0 ? 'pass' : r.code === SKIP_EXIT ? 'skip' : 'fail';
    const message =
      status === 'pass' ? '' : status === 'skip' ? lastLine(output) || 'skipped' : `exit ${r.code}: ${lastLine(output) || 'no output'}`;
    return { ...base, status, durationMs: Date.now() - start, output, message, exitCode: r.code };
  } catch (e) {
    if (isPharosError(e) && e.exitCode === 130) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    // A timeout ran the check and it did not finish: that is the check failing.
    const status: CheckStatus = e instanceof SshTimeoutError ? 'fail' : 'error';
    return { ...base, status, durationMs: Date.now() - start, output, message: msg.split('\n')[0] ?? msg };
  }
}

export async function runSuite(opts: RunSuiteOptions): Promise<SuiteResult> {
  const start = Date.now();
  const suite = opts.suite;
  const pool = opts.connections ?? new ConnectionPool(opts);
  const runId = `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
  const env = { ...clusterEnv(opts.cluster), PHAROS_SUITE: suite.name, PHAROS_RUN_ID: runId };
  const exports = new Map<string, string>();
  const results: CheckResult[] = [];
  const checks = opts.only ? suite.checks.filter((c) => opts.only?.includes(c.name)) : suite.checks;
  if (opts.only) {
    const unknown = opts.only.filter((n) => !suite.checks.some((c) => c.name === n));
    if (unknown.length) {
      throw new PharosError(`unknown check ${unknown.join(', ')} in suite ${suite.name}`, {
        hint: `checks: ${suite.checks.map((c) => c.name).join(', ')}`,
      });
    }
  }
  opts.onEvent?.({ type: 'suite-start', suite: suite.name, checks: checks.length });
  try {
    for (const check of checks) {
      if (opts.signal?.aborted) throw new PharosError(`interrupted during suite ${suite.name}`, { exitCode: 130 });
      const nodes = selectNodes(opts.cluster, check.nodes);
      const withExports = { ...env, ...Object.fromEntries(exports) };
      if (nodes.length === 0) {
        const r: CheckResult = {
          suite: suite.name,
          check: check.name,
          node: '-',
          status: 'skip',
          durationMs: 0,
          output: '',
          message: `no ${check.nodes} nodes in cluster ${opts.cluster.name}`,
        };
        results.push(r);
        opts.onEvent?.({ type: 'check-end', result: r });
        continue;
      }
      const rs = await Promise.all(nodes.map((n) => runOne(opts, pool, check, n, withExports, exports)));
      for (const r of rs) {
        results.push(r);
        opts.onEvent?.({ type: 'check-end', result: r });
      }
    }
  } finally {
    if (!opts.connections) await pool.closeAll();
  }
  const result: SuiteResult = {
    suite: suite.name,
    cluster: opts.cluster.name,
    status: results.some((r) => r.status === 'fail' || r.status === 'error') ? 'fail' : 'pass',
    durationMs: Date.now() - start,
    startedAt: new Date(start).toISOString(),
    checks: results,
  };
  opts.onEvent?.({ type: 'suite-end', result });
  return result;
}

export interface RunSuitesOptions extends Omit<RunSuiteOptions, 'suite' | 'connections'> {
  suites: SuiteDef[];
  /** Stop after the first suite that fails (default: run them all). */
  failFast?: boolean;
}

/** Run several suites in order over one set of connections. */
export async function runSuites(opts: RunSuitesOptions): Promise<SuiteResult[]> {
  const pool = new ConnectionPool(opts);
  const out: SuiteResult[] = [];
  try {
    for (const suite of opts.suites) {
      const r = await runSuite({ ...opts, suite, connections: pool });
      out.push(r);
      if (opts.failFast && r.status === 'fail') break;
    }
  } finally {
    await pool.closeAll();
  }
  return out;
}
