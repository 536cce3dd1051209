/**
 * `npm run bench:cluster`: the role developer's loop on the local default
 * (config/local.yaml), measured on this machine. Not a test; CI does not run it.
 * It needs root, libvirt and the images (it builds what is missing).
 *
 * 1. cold deploy: when the VMs are not up (or BENCH_COLD=1, which destroys the
 *    cluster first), `pharos build vms`, then `pharos build cluster`: every
 *    role on fresh VMs (the second build's wall time);
 * 2. no-op `pharos build cluster`, cluster up, whole process (median of 3);
 * 3. `pharos build -n cluster` against the real build that follows (no-op);
 * 4. the same role re-run with nothing to change: deploy-role.yml for
 *    slurm-compute on its hosts, straight through runDeployRole (median of
 *    BENCH_REPEAT, default 1: minutes each under TCG), with its task profile;
 *    with Ansible's own strategy (PHAROS_MITOGEN=0), then its peer, the same
 *    run through Mitogen (what deploys use where ansible-mitogen is installed);
 * 5. a template edit in slurm-compute (one comment line appended to
 *    templates/pharos-gpu.tmpfiles.j2) → `pharos build deploy:slurm-compute
 *    test:slurm-compute test:gres` (the role and its suites), preceded by
 *    `build -n` of the same targets; then the edit is undone and the same build
 *    runs again (a second sample). The file is restored on any exit.
 *
 * Prints a table with the 1-minute load average at the end of each step and
 * writes it as JSON to .pharos/bench-cluster.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployRoles, runDeployRole } from '../tasks/roles.js';
import { profileLines } from '../lib/tools/ansible-events.js';
import { MITOGEN_STRATEGY_PLUGIN } from '../lib/tools/ansible.js';
import type { BuildSummary } from '../lib/run/events.js';
import type { ClusterPlan } from '../lib/model.js';
import { loadConfig, planSystem } from '../lib/config/index.js';
import { parse as parseYaml } from 'yaml';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PHAROS = join(REPO, 'bin', 'pharos.js');
const TEMPLATE = join(REPO, 'ansible', 'roles', 'slurm-compute', 'templates', 'pharos-gpu.tmpfiles.j2');
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1) || 1);
const EDIT_TARGETS = ['deploy:slurm-compute', 'test:slurm-compute', 'test:gres'];

interface Row {
  step: string;
  seconds: number[];
  load: number;
  note: string;
}
const rows: Row[] = [];
const load = (): number => Math.round(loadavg()[0] * 100) / 100;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

interface Run {
  code: number;
  seconds: number;
  summary?: BuildSummary;
}

/** `pharos --json <args>`, whole process timed; the build-done summary parsed. */
function pharos(args: string[]): Promise<Run> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [PHAROS, '--json', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', rej);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let summary: BuildSummary | undefined;
      for (const line of out.split('\n')) {
        try {
          const e = JSON.parse(line) as { type?: string; summary?: BuildSummary };
          if (e.type === 'build-done') summary = e.summary;
        } catch {
          /* not an event */
        }
      }
      res({ code: code ?? 1, seconds, summary });
    });
  });
}

async function build(args: string[], what: string): Promise<Run> {
  log(`pharos ${args.join(' ')}`);
  const r = await pharos(args);
  if (r.code !== 0) throw new Error(`${what}: pharos ${args.join(' ')} exited ${r.code}`);
  return r;
}

const ran = (s: BuildSummary | undefined, status: 'built' | 'would-build'): string[] =>
  Object.entries(s?.targets ?? {})
    .filter(([, t]) => t.status === status)
    .map(([n]) => n)
    .sort();

function compare(predicted: BuildSummary | undefined, real: BuildSummary | undefined): string {
  const p = ran(predicted, 'would-build');
  const r = ran(real, 'built');
  const extra = p.filter((x) => !r.includes(x));
  const missed = r.filter((x) => !p.includes(x));
  const exact = extra.length === 0 && missed.length === 0;
  return `predicted ${p.length}, ran ${r.length}${exact ? ' (exact)' : ''}${extra.length ? `; predicted but not run: ${extra.join(' ')}` : ''}${missed.length ? `; run but not predicted: ${missed.join(' ')}` : ''}`;
}

const dur = (s: BuildSummary | undefined, name: string): string => {
  const t = s?.targets[name];
  return t ? `${name} ${(t.durationMs / 1000).toFixed(0)} s` : `${name} -`;
};

/** The "X in all" of the last `profile:` line of a deploy's log, in seconds. */
function ansibleSeconds(logPath: string | undefined): number | undefined {
  if (!logPath || !existsSync(logPath)) return undefined;
  const line = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('profile: ')).pop();
  const m = / ((\d+):(\d\d)|(\d+(?:\.\d+)?) s) in all/.exec(line ?? '');
  if (!m) return undefined;
  return m[2] !== undefined ? Number(m[2]) * 60 + Number(m[3]) : Number(m[4]);
}

/**
 * The least wall time any schedule of these deploys could take: deploys that
 * touch the same host never overlap (host locks), so each host's deploys add
 * up; and a deploy starts only after every role it runs `after`.
 */
function floor(seconds: Map<string, number>): string {
  const roles = deployRoles(planFromInventory()).filter((r) => seconds.has(r.role));
  const groups = inventoryGroups();
  const perHost = new Map<string, { s: number; roles: string[] }>();
  for (const r of roles) {
    const hosts = new Set(r.touches.flatMap((g) => groups.get(g) ?? []));
    for (const h of hosts) {
      const e = perHost.get(h) ?? { s: 0, roles: [] };
      e.s += seconds.get(r.role) ?? 0;
      e.roles.push(r.role);
      perHost.set(h, e);
    }
  }
  const [busiest, load] = [...perHost].sort((a, b) => b[1].s - a[1].s)[0] ?? ['-', { s: 0, roles: [] }];
  const byRole = new Map(roles.map((r) => [r.role, r]));
  const chain = new Map<string, { s: number; path: string[] }>();
  const longest = (role: string): { s: number; path: string[] } => {
    const known = chain.get(role);
    if (known) return known;
    const before = (byRole.get(role)?.after ?? []).filter((a) => byRole.has(a)).map(longest).sort((a, b) => b.s - a.s)[0];
    const out = { s: (before?.s ?? 0) + (seconds.get(role) ?? 0), path: [...(before?.path ?? []), role] };
    chain.set(role, out);
    return out;
  };
  const crit = roles.map((r) => longest(r.role)).sort((a, b) => b.s - a.s)[0] ?? { s: 0, path: [] };
  return `floor ${Math.max(load.s, crit.s).toFixed(0)} s: ${busiest} runs ${load.roles.length} deploys in series (${load.s.toFixed(0)} s), the longest after-chain is ${crit.s.toFixed(0)} s (${crit.path.join(' > ')})`;
}

/** Group -> its hosts (children included), read from the written inventory. */
function inventoryGroups(): Map<string, string[]> {
  interface Node {
    hosts?: Record<string, unknown> | null;
    children?: Record<string, Node | null> | null;
  }
  const direct = new Map<string, { hosts: Set<string>; children: Set<string> }>();
  const walk = (name: string, n: Node | null): void => {
    const e = direct.get(name) ?? { hosts: new Set<string>(), children: new Set<string>() };
    direct.set(name, e);
    for (const h of Object.keys(n?.hosts ?? {})) e.hosts.add(h);
    for (const [c, child] of Object.entries(n?.children ?? {})) {
      e.children.add(c);
      walk(c, child);
    }
  };
  const doc = parseYaml(readFileSync(inventoryPath(), 'utf8'), { logLevel: 'silent' }) as { all?: Node } | null;
  walk('all', doc?.all ?? null);
  const resolveGroup = (name: string, seen: Set<string>): string[] => {
    if (seen.has(name)) return [];
    seen.add(name);
    const e = direct.get(name);
    return e ? [...e.hosts, ...[...e.children].flatMap((c) => resolveGroup(c, seen))] : [];
  };
  return new Map([...direct.keys()].map((g) => [g, [...new Set(resolveGroup(g, new Set()))]]));
}

/** The inventory Pharos wrote for the local default's cluster. */
function inventoryPath(): string {
  const path = join(REPO, '.pharos', 'clusters', planFromInventory().name, 'inventory.yml');
  if (!existsSync(path)) throw new Error(`no inventory at ${path}: is the cluster up?`);
  return path;
}

async function main(): Promise<void> {
  // 1. Cold deploy (VMs up first, so the figure is the deploys alone).
  const probe = await pharos(['build', '-n', 'cluster']);
  const vmsDown = ran(probe.summary, 'would-build').some((n) => n.startsWith('vm:'));
  if (process.env.BENCH_COLD === '1' && !vmsDown) await build(['cluster', 'destroy', '--yes'], 'destroy for a cold deploy');
  if (vmsDown || process.env.BENCH_COLD === '1') {
    const vms = await build(['build', 'vms'], 'VMs');
    rows.push({ step: 'VMs up (images cached): pharos build vms', seconds: [vms.seconds], load: load(), note: '' });
    const cold = await build(['build', 'cluster'], 'cold deploy');
    // A deploy's target time includes waiting for another's hosts; its
    // ansible-playbook time is the `profile:` line of its log.
    const deploys = Object.entries(cold.summary?.targets ?? {})
      .filter(([n, t]) => n.startsWith('deploy:') && t.status === 'built')
      .map(([n, t]) => ({ role: n.slice('deploy:'.length), s: ansibleSeconds(t.logPath) ?? t.durationMs / 1000 }));
    const sum = deploys.reduce((a, d) => a + d.s, 0);
    rows.push({
      step: 'cold deploy of every role (VMs up): pharos build cluster',
      seconds: [cold.seconds],
      load: load(),
      note: `${deploys.length} deploys, ${sum.toFixed(0)} s of ansible-playbook in all (${deploys.map((d) => `${d.role} ${d.s.toFixed(0)}`).join(', ')}); ${floor(new Map(deploys.map((d) => [d.role, d.s])))}`,
    });
  } else {
    rows.push({ step: 'cold deploy of every role (VMs up)', seconds: [], load: load(), note: 'not measured: the cluster was up (BENCH_COLD=1 destroys it first)' });
  }

  // 2. No-op build, whole process.
  const noop: number[] = [];
  let last: Run | undefined;
  for (let i = 0; i < 3; i++) {
    last = await build(['build', 'cluster'], 'no-op build');
    noop.push(last.seconds);
  }
  rows.push({ step: 'no-op pharos build cluster, whole process', seconds: noop, load: load(), note: `built ${ran(last?.summary, 'built').length} targets` });

  // 3. Dry run against the real build that follows.
  const dry = await build(['build', '-n', 'cluster'], 'dry run');
  const real = await build(['build', 'cluster'], 'build after the dry run');
  rows.push({ step: 'pharos build -n cluster (no-op) vs the real build', seconds: [dry.seconds], load: load(), note: compare(dry.summary, real.summary) });

  // 4. The role with nothing to change, ansible-playbook alone.
  const role = deployRoles(planFromInventory()).find((r) => r.role === 'slurm-compute');
  if (!role) throw new Error('the local default has no slurm-compute role');
  const same: number[] = [];
  let profile: string[] = [];
  let changed = 0;
  for (let i = 0; i < REPEAT; i++) {
    log('ansible-playbook deploy-role.yml for slurm-compute (nothing to change), Ansible\'s own strategy');
    const r = await runDeployRole(role, { inventoryPath: inventoryPath(), timeoutMs: 30 * 60_000, env: { ...process.env, PHAROS_MITOGEN: '0' } });
    same.push(r.durationMs / 1000);
    profile = profileLines(r.tasks, r.durationMs);
    changed += r.changed;
  }
  rows.push({ step: 'slurm-compute re-run with nothing to change (ansible-playbook, linear strategy)', seconds: same, load: load(), note: `changed=${changed}; ${profile[0] ?? ''}` });
  for (const l of profile) log(l);
  // 4b. Its peer: the same run through Mitogen (one resident interpreter per
  // host instead of one per module), when ansible-mitogen is installed.
  if (existsSync(MITOGEN_STRATEGY_PLUGIN)) {
    const mito: number[] = [];
    let mchanged = 0;
    for (let i = 0; i < REPEAT; i++) {
      log('the same run through Mitogen (PHAROS_MITOGEN=1)');
      const r = await runDeployRole(role, { inventoryPath: inventoryPath(), timeoutMs: 30 * 60_000, env: { ...process.env, PHAROS_MITOGEN: '1' } });
      mito.push(r.durationMs / 1000);
      mchanged += r.changed;
      if (i === 0) for (const l of profileLines(r.tasks, r.durationMs)) log(`mitogen ${l}`);
    }
    rows.push({ step: 'the same re-run through Mitogen (mitogen_linear)', seconds: mito, load: load(), note: `changed=${mchanged}; ${(median(same) / median(mito)).toFixed(1)}x the default strategy's speed` });
  } else {
    rows.push({ step: 'the same re-run through Mitogen', seconds: [], load: load(), note: `not measured: ${MITOGEN_STRATEGY_PLUGIN} is missing (apt-get install ansible-mitogen)` });
  }

  // 5. Template edit → deploy + suites; then the edit undone.
  const original = readFileSync(TEMPLATE, 'utf8');
  const restore = (): void => writeFileSync(TEMPLATE, original);
  process.once('SIGINT', () => {
    restore();
    process.exit(130);
  });
  try {
    writeFileSync(TEMPLATE, `${original}# bench edit ${new Date().toISOString()}\n`);
    const dryEdit = await build(['build', '-n', ...EDIT_TARGETS], 'dry run after the edit');
    const edit = await build(['build', ...EDIT_TARGETS], 'template edit');
    rows.push({
      step: 'template edit in slurm-compute → deploy + its suites',
      seconds: [edit.seconds],
      load: load(),
      note: `${EDIT_TARGETS.map((n) => dur(edit.summary, n)).join(', ')}; -n: ${compare(dryEdit.summary, edit.summary)}`,
    });
    restore();
    const undo = await build(['build', ...EDIT_TARGETS], 'edit undone');
    rows.push({ step: 'the edit undone → deploy + its suites', seconds: [undo.seconds], load: load(), note: EDIT_TARGETS.map((n) => dur(undo.summary, n)).join(', ') });
  } finally {
    restore();
  }
}

let plan: ClusterPlan | undefined;
function planFromInventory(): ClusterPlan {
  if (!plan) throw new Error('config/local.yaml has no cluster');
  return plan;
}

function table(): string {
  const fmt = (xs: number[]): string => (xs.length === 0 ? '—' : xs.length === 1 ? `${xs[0]?.toFixed(1)} s` : `${median(xs).toFixed(2)} s (median of ${xs.length}: ${xs.map((x) => x.toFixed(2)).join(', ')})`);
  const lines = ['| step | time | load (1 min) | notes |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.step} | ${fmt(r.seconds)} | ${r.load} | ${r.note} |`);
  return lines.join('\n');
}

plan = planSystem(await loadConfig(join(REPO, 'config', 'local.yaml'), { env: process.env, root: REPO }), { env: process.env }).clusters[0];
log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load ${load()}`);
try {
  await main();
} finally {
  const text = table();
  process.stdout.write(`${text}\n`);
  mkdirSync(join(REPO, '.pharos'), { recursive: true });
  writeFileSync(join(REPO, '.pharos', 'bench-cluster.json'), `${JSON.stringify({ when: new Date().toISOString(), cpus: cpus().length, rows }, null, 2)}\n`);
}
